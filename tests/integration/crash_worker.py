"""Run the outbox worker in a separate process that dies by SIGKILL right after Stripe
answered, before the outcome is recorded (used by test_crash_recovery.py)."""
import os
import signal
import sys
from datetime import timedelta

from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.payments.stripe_gateway import StripeGateway
from opentrain_desk.persistence import database
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory


def main(db_url: str, base_url: str, api_key: str) -> None:
    engine = database.create_engine(db_url)
    factory = UnitOfWorkFactory(engine, actor="crash-worker")
    gateway = StripeGateway(api_key, base_url=base_url, timeout=5, mode="test")

    def die(_op, _result) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    OutboxWorker(factory, lambda: gateway, lease=timedelta(0), after_send=die).run_once()
    sys.exit(3)  # not reached: the kill happens after the first send


if __name__ == "__main__":
    main(*sys.argv[1:4])
