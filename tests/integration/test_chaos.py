"""Chaos: random hires, fundings, cancels, edits, deletes, submissions and approvals on
many contracts, while the Stripe emulator fails before AND after executing requests
(dropped connections, 5xx, sticky 5xx replayed under the idempotency key, answers held
past the client timeout) and two worker processes on the same workspace are killed at
random. Then the emulator's objects are reconciled with the books, money by money.

Bounded: ``OPENTRAIN_CHAOS_SECONDS`` (default 6 s of chaos per database: a couple
of hundred actions, dozens of faults, a few killed workers and always at least one) and
``OPENTRAIN_CHAOS_SEED`` to replay a run; ``benchmarks/chaos.py`` runs it longer.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.errors import DomainError
from opentrain_desk.domain.milestones import MilestoneDraft, MilestoneStatus, PayoutStatus
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.operations import OperationStatus
from opentrain_desk.payments.stripe_gateway import StripeGateway
from opentrain_desk.persistence import database
from opentrain_desk.persistence.orm import (audit_log, contracts, invoices, jobs, milestones,
                                            stripe_operations, trainers)
from opentrain_desk.services import billing, funding, payouts, refunds, stripe_check, stripe_events
from opentrain_desk.services import jobs as services
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from opentrain_desk.services.workspace_settings import customer_key
from tests.integration.money_checks import assert_money_equals_stripe

ROOT = Path(__file__).parents[2]
WORKER = Path(__file__).with_name("chaos_worker.py")
SECONDS = float(os.environ.get("OPENTRAIN_CHAOS_SECONDS", "6"))
UNSETTLED = [OperationStatus.QUEUED, OperationStatus.SENDING, OperationStatus.NEEDS_ACTION,
             OperationStatus.ATTENTION]

FAULTS = [  # (path, method, fault) — the worker's client timeout is 1 s
    ("/v1/payment_intents", "POST", dict(when="after", drop=True)),
    ("/v1/payment_intents", "POST", dict(when="after", status=500)),
    ("/v1/payment_intents", "POST", dict(when="after", status=500, sticky=True)),
    ("/v1/payment_intents", "POST", dict(when="after", delay=1.4)),
    ("/v1/payment_intents", "POST", dict(drop=True)),
    ("/v1/payment_intents", "POST", dict(status=503)),
    ("/v1/payment_intents", "POST", dict(delay=1.4)),  # held, then executed anyway
    ("/v1/payment_intents", "GET", dict(status=500)),   # the lookup fails too
    ("/v1/transfers", "POST", dict(when="after", drop=True)),
    ("/v1/transfers", "POST", dict(when="after", status=502)),
    ("/v1/transfers", "POST", dict(when="after", delay=1.4)),
    ("/v1/transfers", "POST", dict(drop=True)),
    ("/v1/transfers", "GET", dict(drop=True)),
    ("/v1/transfers", "POST", dict(status=400, code="transfer_rejected")),  # payout fails
    ("/v1/refunds", "POST", dict(when="after", drop=True)),
    ("/v1/refunds", "POST", dict(when="after", status=500, sticky=True)),
    ("/v1/refunds", "POST", dict(when="after", delay=1.4)),
    ("/v1/refunds", "POST", dict(status=503)),
    ("/v1/refunds", "GET", dict(status=500)),
]


class Workers:
    """Two payment worker processes on one workspace, SIGKILLed and restarted at random."""

    def __init__(self, db_url: str, sandbox, log_dir: Path) -> None:
        self.args = [db_url, sandbox.base_url, sandbox.api_key]
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen | None] = [None, None]
        self.kills = 0
        self.env = dict(os.environ, PYTHONPATH=str(ROOT))

    def start(self, slot: int) -> None:
        log = open(self.log_dir / f"worker{slot}.log", "ab")  # noqa: SIM115 - kept by Popen
        self.procs[slot] = subprocess.Popen(
            [sys.executable, str(WORKER), *self.args, f"worker{slot}"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=log, env=self.env)
        log.close()

    def kill_one(self, rng: random.Random) -> None:
        slot = rng.randrange(len(self.procs))
        proc = self.procs[slot]
        if proc is not None:
            proc.kill()  # SIGKILL: no cleanup, whatever it was doing
            proc.wait(10)
            self.kills += 1
        self.start(slot)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None:
                proc.kill()
                proc.wait(10)

    def log_tail(self) -> str:
        return "\n".join((self.log_dir / f"worker{i}.log").read_text(errors="replace")[-3000:]
                         for i in range(len(self.procs)))


class Agency:
    """The random user: acts on whatever the books show, accepting refusals."""

    def __init__(self, factory: UnitOfWorkFactory, rng: random.Random, gateway=None,
                 sandbox=None, bank: str | None = None) -> None:
        self.factory, self.rng = factory, rng
        self.gateway, self.sandbox, self.bank = gateway, sandbox, bank
        self.done: Counter = Counter()

    def amount(self) -> Money:
        return Money(self.rng.randint(100, 250_000))

    def milestones(self) -> list:
        with self.factory.engine.connect() as conn:
            return conn.execute(sa.select(milestones.c.id, milestones.c.status,
                                          milestones.c.payout_status,
                                          milestones.c.amount_cents,
                                          milestones.c.contract_id)).all()

    def act(self) -> None:
        rows = self.milestones()
        roll = self.rng.random()
        if roll < 0.08 or not rows:
            return self._hire()
        if roll < 0.2:
            return self._add(self.rng.choice(rows).contract_id)
        later = [r for r in rows if r.status in (MilestoneStatus.ACTIVE_FUNDED,
                                                 MilestoneStatus.PENDING_APPROVAL)
                 or r.payout_status is PayoutStatus.FAILED]
        m = self.rng.choice(later if later and self.rng.random() < 0.55 else rows)
        if m.payout_status is PayoutStatus.FAILED:
            return self.rng.choice([self._retry, self._refund_payout])(m.id)
        action = {
            MilestoneStatus.NOT_FUNDED: self.rng.choice(
                [self._fund, self._fund, self._fund, self._edit, self._delete]),
            MilestoneStatus.FUNDING: self._cancel,
            MilestoneStatus.ACTIVE_FUNDED: self.rng.choice(
                [self._submit, self._submit, self._submit, self._refund, self._dashboard,
                 self._dispute]),
            MilestoneStatus.PENDING_APPROVAL: self.rng.choice(
                [self._approve, self._approve, self._partial, self._changes, self._refund]),
        }.get(m.status)
        if action is not None:
            action(m.id)

    def _attempt(self, name: str, fn, *args) -> None:
        try:
            fn(self.factory(), *args)
            self.done[name] += 1
        except DomainError:
            self.done[f"{name} refused"] += 1

    def _hire(self) -> None:
        with self.factory.engine.connect() as conn:
            job_ids = list(conn.execute(sa.select(jobs.c.id)).scalars())
        n = self.rng.randrange(10_000_000)
        self._attempt("hire", services.hire_trainer, self.rng.choice(job_ids),
                      f"Trainer {n}", f"t{n}@example.com",
                      MilestoneDraft(f"First {n}", self.amount()),
                      "test" if self.rng.random() < 0.5 else None)

    def _add(self, contract_id: int) -> None:
        self._attempt("add", services.add_milestone, contract_id,
                      MilestoneDraft(f"M {self.rng.randrange(1000)}", self.amount()))

    def _fund(self, m_id: int) -> None:
        method = self.bank if self.bank and self.rng.random() < 0.2 else None
        self._attempt("fund" if method is None else "fund by bank debit",
                      funding.queue_funding, m_id, "test", method)

    def _intent(self, m_id: int) -> str | None:
        with self.factory() as uow:
            return uow.milestones.get(m_id).payment_intent_id

    def _dashboard(self, m_id: int) -> None:
        """Someone refunds (part of) the charge in the Stripe Dashboard."""
        intent = self._intent(m_id)
        amount = self._amount_of(m_id)
        try:
            self.gateway.v1.refunds.create({"payment_intent": intent, "amount": (
                amount if self.rng.random() < 0.5 else self.rng.randint(1, amount))})
            self.done["dashboard refund"] += 1
        except Exception:  # noqa: BLE001 - e.g. already refunded or disputed: Stripe says no
            self.done["dashboard refund refused"] += 1

    def _dispute(self, m_id: int) -> None:
        """The card issuer opens a dispute on the funding charge."""
        try:
            self.sandbox.open_dispute(payment_intent=self._intent(m_id))
            self.done["dispute"] += 1
        except Exception:  # noqa: BLE001 - e.g. refunded or disputed already
            self.done["dispute refused"] += 1

    def _edit(self, m_id: int) -> None:
        self._attempt("edit", services.edit_milestone, m_id,
                      MilestoneDraft("Edited", self.amount()))

    def _delete(self, m_id: int) -> None:
        self._attempt("delete", services.delete_milestone, m_id)

    def _cancel(self, m_id: int) -> None:
        self._attempt("cancel", funding.cancel_funding, m_id)

    def _submit(self, m_id: int) -> None:
        self._attempt("submit", services.record_submission, m_id, "done", "")

    def _approve(self, m_id: int) -> None:
        self._attempt("approve", payouts.approve_milestone, m_id)

    def _changes(self, m_id: int) -> None:
        self._attempt("changes", services.request_changes, m_id, "please redo")

    def _amount_of(self, m_id: int) -> int:
        return next(r.amount_cents for r in self.milestones() if r.id == m_id)

    def _refund(self, m_id: int) -> None:
        amount = self._amount_of(m_id)
        part = amount if self.rng.random() < 0.6 else self.rng.randint(1, amount)
        self._attempt("refund", refunds.cancel_and_refund, m_id, part, "chaos", True)

    def _partial(self, m_id: int) -> None:
        release = self.rng.randint(1, self._amount_of(m_id))
        self._attempt("partial release", payouts.approve_milestone, m_id, release, "part")

    def _retry(self, m_id: int) -> None:
        self._attempt("retry payout", payouts.retry_payout, m_id)

    def _refund_payout(self, m_id: int) -> None:
        self._attempt("refund payout", payouts.refund_failed_payout, m_id, "chaos")


def _setup(factory, gateway, sandbox) -> str:
    billing.add_test_card(factory, gateway, "pm_card_visa")
    bank = billing.add_test_bank_account(factory, gateway, "000123456789").id
    for j in range(4):
        job_id = services.create_job(factory(), f"Job {j}")
        for t in range(2):
            hired = services.hire_trainer(factory(), job_id, f"Trainer {j}{t}",
                                          f"t{j}{t}@example.com",
                                          MilestoneDraft("Start", Money(10_000 * (t + 1))))
            account = payouts.ensure_account(factory, gateway, hired.trainer_id)
            sandbox.complete_onboarding(account)
            payouts.refresh_account(factory, gateway, hired.trainer_id)
    return bank


def _settle_at_stripe(sandbox, gateway, rng: random.Random) -> None:
    sandbox.settle_all_payment_intents()
    for dispute in gateway.v1.disputes.list({"limit": 100}).auto_paging_iter():
        if dispute.status in ("needs_response", "under_review"):
            sandbox.resolve_dispute(dispute.id, rng.choice(["won", "lost"]))


def _done(op, waiting_at_stripe: bool) -> bool:
    status = getattr(op.status, "name", op.status)
    kind = getattr(op.error_kind, "name", op.error_kind)
    return status == "ATTENTION" or waiting_at_stripe and (
        status == "NEEDS_ACTION" or status == "QUEUED" and kind == "BALANCE")


def _unsettled(factory) -> list:
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(stripe_operations.c.id, stripe_operations.c.status,
                                      stripe_operations.c.last_error,
                                      stripe_operations.c.error_kind)
                            .where(stripe_operations.c.status.in_(
                                [s.name for s in UNSETTLED]))).all()


def _wait_settled(factory, workers: Workers, timeout: float = 90.0,
                  waiting_at_stripe: bool = False) -> None:
    """Until nothing is in flight; ``waiting_at_stripe``: bank debits may still process and
    payouts may wait for a disputed charge's funds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = _unsettled(factory)
        if all(_done(op, waiting_at_stripe) for op in left):
            return
        time.sleep(0.25)  # polling another process's progress
    pytest.fail(f"operations still unsettled after {timeout} s: {_unsettled(factory)}\n"
                f"{workers.log_tail()}")


def run_chaos(db_url: str, sandbox, log_dir: Path, seconds: float, seed: int,
              chaos: bool = True) -> dict:
    """``chaos=False``: the same random user and two workers, no faults and no kills (the
    baseline ``benchmarks/chaos.py`` compares with)."""
    rng = random.Random(seed)
    sandbox.reset()
    engine = database.create_engine(db_url)
    database.migrate(engine)
    factory = UnitOfWorkFactory(engine, actor="chaos")
    gateway = StripeGateway(sandbox.api_key, base_url=sandbox.base_url, timeout=10,
                            mode="test")
    bank = _setup(factory, gateway, sandbox)
    agency = Agency(factory, rng, gateway, sandbox, bank if chaos else None)
    workers = Workers(db_url, sandbox, log_dir)
    workers.start(0)
    workers.start(1)
    injected = 0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            agency.act()
            if chaos and rng.random() < 0.25:
                path, method, fault = rng.choice(FAULTS)
                sandbox.inject_fault(path, method=method, **fault)
                injected += 1
            halfway = time.monotonic() > deadline - seconds / 2
            if chaos and (rng.random() < 0.03 or halfway and workers.kills == 0):
                workers.kill_one(rng)
            time.sleep(rng.uniform(0, 0.03))  # pacing the random user
        sandbox.clear_faults()
        # A day passes: Stripe forgets idempotency keys (a sticky 5xx replayed under its
        # key can no longer hide the outcome: lookup first, then a fresh send executes).
        sandbox.expire_idempotency_keys()
        _wait_settled(factory, workers, waiting_at_stripe=True)
        for _day in range(2):  # days pass: debits settle, disputes end
            _settle_at_stripe(sandbox, gateway, rng)
            stripe_events.sync(factory, gateway)  # what happened at Stripe reaches the books
            _wait_settled(factory, workers, waiting_at_stripe=True)
        _wait_settled(factory, workers)
        elapsed = time.monotonic() - deadline + seconds
    finally:
        workers.stop()
    try:
        _reconcile(factory, gateway)
    except AssertionError as failure:
        raise AssertionError(f"seed {seed}: {failure}\n{workers.log_tail()}") from None
    finally:
        engine.dispose()
    with factory.engine.connect() as conn:
        moved = conn.scalar(sa.select(sa.func.count()).select_from(stripe_operations).where(
            stripe_operations.c.status == OperationStatus.SUCCEEDED.name))
    return {"actions": dict(agency.done), "faults": injected, "kills": workers.kills,
            "money_movements": moved, "seconds": round(elapsed, 1)}


def _books(factory) -> list:
    m, c, t = milestones.c, contracts.c, trainers.c
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(m.id, m.status, m.payout_status, m.amount_cents,
                                      m.payment_intent_id, t.stripe_account_id)
                            .select_from(milestones.join(contracts, c.id == m.contract_id)
                                         .join(trainers, t.id == c.trainer_id))).all()


def _reconcile(factory, gateway) -> None:
    """The emulator's objects against the books, money by money: one charge per funded
    milestone for its amount, one transfer per paid-out milestone to the trainer's account,
    a credit note and an audit entry per refund, and for every contract charges - refunds
    - transfers equal to what the milestones' states say the agency holds."""
    assert [op for op in _unsettled(factory)] == [], "operations set aside or stuck"
    with factory() as uow:
        customer = uow.settings.get(customer_key("test"))
    charges = [pi for pi in gateway.v1.payment_intents.list(
        {"customer": customer, "limit": 100}).auto_paging_iter() if pi.status == "succeeded"]
    charged = Counter(pi.metadata["milestone_id"] for pi in charges)
    amounts = {pi.id: pi.amount for pi in charges}
    transfers = list(gateway.v1.transfers.list({"limit": 100}).auto_paging_iter())
    paid = Counter(tr.metadata["milestone_id"] for tr in transfers)
    funded_states = {"ACTIVE_FUNDED", "PENDING_APPROVAL", "PAID", "REFUNDING", "REFUNDED"}
    books = _books(factory)
    for row in books:
        key = str(row.id)
        status = getattr(row.status, "name", row.status)
        payout = getattr(row.payout_status, "name", row.payout_status)
        if status in funded_states:
            assert charged[key] == 1, f"milestone {row.id} ({status}) has {charged[key]} charges"
            assert amounts[row.payment_intent_id] == row.amount_cents, f"amount of {row.id}"
        else:
            assert charged[key] == 0, f"milestone {row.id} ({status}) was charged {charged[key]}x"
        if payout == PayoutStatus.PAID_OUT.name:
            [tr] = [tr for tr in transfers if tr.metadata["milestone_id"] == key]
            assert paid[key] == 1 and tr.amount <= row.amount_cents
            assert tr.destination == row.stripe_account_id
        else:
            assert paid[key] == 0, f"milestone {row.id} ({payout}) has a transfer"
    in_books = {str(row.id) for row in books}
    assert set(charged) <= in_books, "a deleted milestone was charged"
    _check_invoices_and_audit(factory, books, gateway)
    assert_money_equals_stripe(factory.engine, gateway)
    assert stripe_check.check(factory, gateway) == []


def _check_invoices_and_audit(factory, books, gateway) -> None:
    with factory.engine.connect() as conn:
        emp = Counter(conn.execute(sa.select(invoices.c.milestone_id).where(
            invoices.c.kind == "EMP")).scalars())
        pay = Counter(conn.execute(sa.select(invoices.c.milestone_id).where(
            invoices.c.kind == "PAY")).scalars())
        funded_audit = Counter(conn.execute(sa.select(audit_log.c.entity_id).where(
            audit_log.c.entity == "milestone", audit_log.c.action == "funded")).scalars())
        paid_audit = Counter(conn.execute(sa.select(audit_log.c.entity_id).where(
            audit_log.c.entity == "milestone", audit_log.c.action == "paid out")).scalars())
        credit = Counter(conn.execute(sa.select(invoices.c.milestone_id).where(
            invoices.c.kind == "CN")).scalars())
        refunded_audit = Counter(conn.execute(sa.select(audit_log.c.entity_id).where(
            audit_log.c.entity == "milestone", audit_log.c.action == "refunded")).scalars())
        dashboard_audit = Counter(conn.execute(sa.select(audit_log.c.entity_id).where(
            audit_log.c.entity == "milestone",
            audit_log.c.action == "refunded at Stripe")).scalars())
    for row in books:
        status = getattr(row.status, "name", row.status)
        payout = getattr(row.payout_status, "name", row.payout_status)
        funded = status in ("ACTIVE_FUNDED", "PENDING_APPROVAL", "PAID", "REFUNDED")
        assert emp[row.id] == funded and funded_audit[row.id] == funded, f"EMP of {row.id}"
        assert pay[row.id] == (status == "PAID"), f"PAY invoice of {row.id}"
        assert paid_audit[row.id] == (payout == "PAID_OUT"), f"payout audit of {row.id}"
        refunds_made = [r for r in gateway.v1.refunds.list(
            {"payment_intent": row.payment_intent_id, "limit": 100}).data] \
            if row.payment_intent_id else []
        lost = [d for d in gateway.v1.disputes.list(
            {"payment_intent": row.payment_intent_id}).data if d.status == "lost"] \
            if row.payment_intent_id else []
        assert credit[row.id] == len(refunds_made) + len(lost), f"credit notes of {row.id}"
        assert refunded_audit[row.id] + dashboard_audit[row.id] == len(refunds_made), \
            f"refund audit of {row.id}"


@pytest.mark.parametrize("database_kind", ["sqlite", "postgres"])
def test_chaos_books_equal_stripe(database_kind, sandbox, tmp_path, request):
    db_url = (request.getfixturevalue("sqlite_url") if database_kind == "sqlite"
              else request.getfixturevalue("postgres_url"))
    seed = int(os.environ.get("OPENTRAIN_CHAOS_SEED", random.randrange(1 << 30)))
    summary = run_chaos(db_url, sandbox, tmp_path, SECONDS, seed)
    print(f"chaos {database_kind} seed {seed}: {summary}")
    assert summary["faults"] > 0 and summary["kills"] > 0
    assert summary["actions"].get("fund", 0) > 0
