"""A payment worker process for the chaos test: runs the outbox worker on a shared
workspace until it is SIGKILLed (the test kills and restarts it at random)."""
import logging
import sys
import threading
from datetime import timedelta

from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.payments.stripe_gateway import StripeGateway
from opentrain_desk.persistence import database
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory


def main(db_url: str, base_url: str, api_key: str, name: str) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"{name} %(levelname)s %(name)s: %(message)s")
    engine = database.create_engine(db_url)
    factory = UnitOfWorkFactory(engine, actor=name)
    gateway = StripeGateway(api_key, base_url=base_url, timeout=1.0, mode="test")
    worker = OutboxWorker(factory, lambda: gateway, idle_interval=0.2,
                          lease=timedelta(seconds=3), senders=2)
    worker.start()
    print("ready", flush=True)
    while True:  # like the app's SyncController: a full sync (with Stripe's events) often
        threading.Event().wait(1.0)
        worker.sync_now()


if __name__ == "__main__":
    main(*sys.argv[1:5])
