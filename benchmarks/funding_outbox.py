#!/usr/bin/env python3
"""Fund 1,000 milestones through the outbox vs. the same PaymentIntents from a bare SDK loop.

Both run against the embedded emulator over HTTP, in one process, in the same run:
- baseline: a plain loop of ``client.v1.payment_intents.create(...)`` (same params,
  an idempotency key each) — what Stripe itself costs;
- outbox: ``funding.queue_funding`` for each milestone, then the real OutboxWorker
  drains the queue (claim + commit, request, record outcome + audit per operation).
Prints both rates and the ratio (outbox / bare); target >= 0.8.

    python benchmarks/funding_outbox.py [--n 1000]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus  # noqa: E402
from opentrain_desk.payments.outbox import OutboxWorker  # noqa: E402
from opentrain_desk.payments.stripe_gateway import StripeGateway  # noqa: E402
from opentrain_desk.persistence import database  # noqa: E402
from opentrain_desk.persistence.orm import contracts, jobs, milestones, trainers  # noqa: E402
from opentrain_desk.sandbox.emulator import SandboxStripe  # noqa: E402
from opentrain_desk.services import billing, funding  # noqa: E402
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory  # noqa: E402
from opentrain_desk.services.workspace_settings import customer_key, default_card_key  # noqa: E402


def workspace(path: Path, n: int) -> UnitOfWorkFactory:
    engine = database.create_engine(f"sqlite:///{path.as_posix()}")
    database.migrate(engine)
    now = datetime.now(timezone.utc)
    if n == 0:
        return UnitOfWorkFactory(engine, actor="bench")
    with engine.begin() as conn:
        conn.execute(jobs.insert().values(id=1, title="Bench", description="",
                                          archived=False, created_at=now))
        conn.execute(trainers.insert().values(id=1, name="T", email="t@example.com",
                                              created_at=now))
        conn.execute(contracts.insert().values(id=1, job_id=1, trainer_id=1,
                                               hired_on=now.date(), created_at=now))
        conn.execute(milestones.insert(), [dict(
            contract_id=1, position=i, title=f"M{i}", description="", amount_cents=10_000 + i,
            status=MilestoneStatus.NOT_FUNDED, payout_status=PayoutStatus.NOT_STARTED,
            status_note="", submission_note="", deliverable_url="", created_at=now,
            updated_at=now) for i in range(1, n + 1)])
    return UnitOfWorkFactory(engine, actor="bench")


def bare_loop(gateway: StripeGateway, customer: str, card: str, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        gateway.v1.payment_intents.create(
            {"amount": 10_000 + i, "currency": "usd", "customer": customer,
             "payment_method": card, "off_session": True, "confirm": True,
             "metadata": {"operation_id": uuid.uuid4().hex}},
            {"idempotency_key": uuid.uuid4().hex})
    return time.perf_counter() - started


def through_outbox(factory: UnitOfWorkFactory, gateway: StripeGateway, n: int):
    started = time.perf_counter()
    for milestone_id in range(1, n + 1):
        funding.queue_funding(factory(), milestone_id, "test")
    queued = time.perf_counter() - started
    worker = OutboxWorker(factory, lambda: gateway, lease=timedelta(0))
    started = time.perf_counter()
    worker.run_once(reconcile=False)
    drained = time.perf_counter() - started
    with factory.engine.connect() as conn:
        funded = conn.execute(milestones.select().where(
            milestones.c.status == MilestoneStatus.ACTIVE_FUNDED)).all()
    assert len(funded) == n, f"only {len(funded)} of {n} funded"
    return queued, drained


class RemoteEmulator:
    """The emulator in its own process: like Stripe, the server does not share our GIL."""

    api_key = SandboxStripe.api_key

    def __enter__(self) -> RemoteEmulator:
        self.proc = subprocess.Popen([sys.executable, "-m", "opentrain_desk.sandbox.emulator"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "ready", "emulator did not start"
        self.base_url = line[1]
        return self

    def reset(self) -> None:
        requests.post(f"{self.base_url}/_sandbox/reset", timeout=10).raise_for_status()

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


def fresh_billing(sandbox, factory: UnitOfWorkFactory,
                  gateway: StripeGateway) -> tuple[str, str]:
    """localstripe gets slower as its store grows (per-request work is O(objects)),
    so each measured run starts from an empty emulator and a new customer."""
    sandbox.reset()
    with factory() as uow:
        for key in (customer_key("test"), default_card_key("test")):
            uow.settings.delete(key)
        uow.commit()
    card = billing.add_test_card(factory, gateway, "pm_card_visa")
    return billing.ensure_customer(factory, gateway), card.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--in-process", action="store_true",
                        help="run the emulator inside this process (shares the GIL)")
    args = parser.parse_args()
    n = args.n
    bare_times, outbox_times, queue_times = [], [], []
    emulator = SandboxStripe() if args.in_process else RemoteEmulator()
    with emulator as sandbox, tempfile.TemporaryDirectory() as tmp:
        gateway = StripeGateway(sandbox.api_key, base_url=sandbox.base_url, mode="test")
        for round_no in range(args.rounds):  # alternate, each from a clean emulator
            customer, card = fresh_billing(sandbox, workspace(Path(tmp) / f"b{round_no}.sqlite",
                                                              0), gateway)
            bare_loop(gateway, customer, card, 20)  # warm up
            sandbox.reset()
            customer, card = fresh_billing(sandbox, workspace(Path(tmp) / f"c{round_no}.sqlite",
                                                              0), gateway)
            bare_times.append(bare_loop(gateway, customer, card, n))
            factory = workspace(Path(tmp) / f"o{round_no}.sqlite", n)
            fresh_billing(sandbox, factory, gateway)
            queued, drained = through_outbox(factory, gateway, n)
            queue_times.append(queued)
            outbox_times.append(drained)
    bare, drained, queued = min(bare_times), min(outbox_times), min(queue_times)
    bare_rate, outbox_rate = n / bare, n / drained
    where = "in this process" if args.in_process else "in its own process"
    print(f"fundings: {n} per run, best of {args.rounds} alternating rounds, each run on an "
          f"empty emulator running {where}")
    print(f"bare SDK loop:   {bare_rate:8.1f} PaymentIntents/s ({bare:.2f} s)")
    print(f"outbox worker:   {outbox_rate:8.1f} fundings/s       ({drained:.2f} s; "
          f"queueing took {queued:.2f} s, {n / queued:.0f}/s)")
    print(f"ratio outbox/bare: {outbox_rate / bare_rate:.3f} (target >= 0.8)")
    print(f"end to end incl. queueing: {n / (queued + drained):.1f}/s, ratio "
          f"{(n / (queued + drained)) / bare_rate:.3f}")


if __name__ == "__main__":
    main()
