"""The four causes of double / lost charges found by the outside chaos run, each as a
repro against the services and the real emulator (which fails AFTER executing and
replays idempotency keys the way Stripe does)."""
from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.errors import DomainError
from opentrain_desk.domain.invoices import InvoiceKind, InvoiceParty
from opentrain_desk.domain.milestones import MilestoneStatus
from opentrain_desk.domain.operations import ErrorKind, OperationStatus
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.payments.stripe_gateway import StripeGateway
from opentrain_desk.persistence import database
from opentrain_desk.persistence.orm import audit_log, invoices, stripe_operations
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.services import funding, invoicing
from opentrain_desk.services import jobs as services
from opentrain_desk.services import operations as operations_
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from tests.integration.test_funding import hire, intents, milestone, operations, with_card, worker


def settle_time_passes(factory) -> None:
    """Unknown outcomes wait a settle time before the lookup; let it pass."""
    with factory.engine.begin() as conn:
        conn.execute(stripe_operations.update().values(next_attempt_at=None))


def row(factory, milestone_id):
    return Queries(factory.engine).milestone(milestone_id)


def funding_invoices(factory, milestone_id) -> list:
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(invoices.c.number).where(
            invoices.c.milestone_id == milestone_id, invoices.c.kind == "EMP")).all()


def audit_actions(factory, milestone_id) -> list[str]:
    with factory.engine.connect() as conn:
        return [r.action for r in conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.entity == "milestone", audit_log.c.entity_id == milestone_id)
            .order_by(audit_log.c.id))]


# -- 1. an answer lost after Stripe executed the PaymentIntent ---------------------------

AFTER_EXECUTION = {
    "dropped connection": dict(drop=True),
    "500 after executing": dict(status=500),
    "500 replayed (sticky)": dict(status=500, sticky=True),
}


@pytest.mark.parametrize("fault", list(AFTER_EXECUTION))
def test_lost_answer_is_unknown_until_a_lookup_and_charges_once(factory, gateway, sandbox,
                                                                fault):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    sandbox.inject_fault("/v1/payment_intents", method="POST", when="after",
                         **AFTER_EXECUTION[fault])
    w = worker(factory, gateway)
    w.run_once()
    assert len(intents(gateway, factory)) == 1  # Stripe charged ...
    shown = row(factory, m_id)                  # ... and the books do not know yet
    assert shown.status is MilestoneStatus.FUNDING
    assert shown.status_qualifier == "checking with Stripe"
    assert not shown.can_cancel_funding
    with pytest.raises(DomainError, match="may already have reached Stripe"):
        funding.cancel_funding(factory(), m_id)
    assert milestone(factory, m_id).status is MilestoneStatus.FUNDING
    settle_time_passes(factory)
    w.run_once()  # the lookup settles it
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.ACTIVE_FUNDED
    [pi] = intents(gateway, factory)
    assert m.payment_intent_id == pi.id and pi.amount == m.amount_cents
    assert len(funding_invoices(factory, m_id)) == 1
    assert audit_actions(factory, m_id)[-1] == "funded"
    settle_time_passes(factory)
    w.run_once()
    assert len(intents(gateway, factory)) == 1


def test_answer_held_past_the_client_timeout_charges_once(factory, sandbox):
    slow = StripeGateway(sandbox.api_key, base_url=sandbox.base_url, timeout=0.5, mode="test")
    [m_id] = hire(factory)
    with_card(factory, slow)
    funding.queue_funding(factory(), m_id, "test")
    sandbox.inject_fault("/v1/payment_intents", method="POST", when="after", delay=1.5)
    w = worker(factory, slow)
    w.run_once()
    [op] = operations(factory)
    assert op.status == OperationStatus.SENDING and op.error_kind == ErrorKind.TIMEOUT
    assert not row(factory, m_id).can_cancel_funding
    settle_time_passes(factory)
    w.run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(intents(slow, factory)) == 1


def test_dropped_before_executing_is_sent_again_with_the_same_key(factory, gateway, sandbox):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    sandbox.inject_fault("/v1/payment_intents", method="POST", drop=True)  # before
    keys = []
    w = worker(factory, gateway, after_send=lambda op, _r: keys.append(op.idempotency_key))
    w.run_once()
    assert intents(gateway, factory) == []
    [op] = operations(factory)
    assert op.status == OperationStatus.SENDING and op.error_kind == ErrorKind.CONNECTION_LOST
    settle_time_passes(factory)
    w.run_once()  # lookup: nothing at Stripe -> re-sent with the same key
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(intents(gateway, factory)) == 1 and len(set(keys)) == 1 and len(keys) == 2
    [op] = operations(factory)
    assert op.maybe_sent  # it may have reached Stripe: never cancellable again


def test_connection_refused_never_left_and_stays_cancellable(factory, gateway, sandbox):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = StripeGateway(sandbox.api_key, base_url=f"http://127.0.0.1:{port}", timeout=2,
                         mode="test")
    worker(factory, dead).run_once()
    [op] = operations(factory)
    assert op.status == OperationStatus.QUEUED and op.error_kind == ErrorKind.NETWORK
    assert row(factory, m_id).can_cancel_funding
    funding.cancel_funding(factory(), m_id)
    assert milestone(factory, m_id).status is MilestoneStatus.NOT_FUNDED
    worker(factory, gateway).run_once()
    assert intents(gateway, factory) == []


# -- 2. a stale reconcile with two workers ------------------------------------------------

class RacingGateway(StripeGateway):
    """Worker A's lookup answers "not found" as it was when A looked, while worker B
    settles the same operation in between (two workers on one workspace)."""

    def __init__(self, other: OutboxWorker, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.other = other

    def find_payment(self, customer_id, operation_id, created_after):
        found = super().find_payment(customer_id, operation_id, created_after)
        self.other.run_once()
        return found


def test_stale_reconcile_never_requeues_a_settled_operation(factory, gateway, sandbox):
    first, second = hire(factory, n=2)
    with_card(factory, gateway)
    funding.queue_funding(factory(), first, "test")
    claimed = operations_.claim_next(factory(), tuple(worker(factory, gateway).handlers),
                                 timedelta(0))  # a worker that died before sending
    assert claimed is not None
    b = worker(factory, gateway)
    racing = RacingGateway(b, sandbox.api_key, base_url=sandbox.base_url, timeout=5,
                           mode="test")
    a = worker(factory, racing)
    a.run_once()
    assert milestone(factory, first).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(intents(gateway, factory)) == 1
    [op] = operations(factory)
    assert op.status == OperationStatus.SUCCEEDED
    assert len(funding_invoices(factory, first)) == 1
    # and the workers go on with new work
    funding.queue_funding(factory(), second, "test")
    a.run_once()
    assert milestone(factory, second).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(intents(gateway, factory)) == 2


def test_requeue_and_errors_are_compare_and_set_on_the_attempt(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    w = worker(factory, gateway)
    w.run_once()
    [op] = operations(factory)
    assert op.status == OperationStatus.SUCCEEDED
    assert operations_.requeue_unsent(factory(), op.id, op.attempts) is False
    from opentrain_desk.services.ports import GatewayError
    assert funding.record_error(factory(), op.id, GatewayError(ErrorKind.SERVER, "late"),
                                op.attempts) is False
    [after] = operations(factory)
    assert after.status == OperationStatus.SUCCEEDED and after.version == op.version


def test_recording_a_replayed_answer_twice_changes_nothing(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    [op] = operations(factory)
    found = gateway.find_payment(op.customer_id, op.id, 0)
    funding.record_payment(factory(), op.id, found)  # a second worker's late record
    assert len(funding_invoices(factory, m_id)) == 1
    assert audit_actions(factory, m_id).count("funded") == 1


def test_one_bad_operation_is_set_aside_and_the_others_are_sent(factory, gateway,
                                                                 monkeypatch, caplog):
    ids = hire(factory, n=3)
    with_card(factory, gateway)
    for m_id in ids:
        funding.queue_funding(factory(), m_id, "test")
    real = funding.record_payment
    with factory() as uow:
        poisoned = uow.operations.open_for_milestone(ids[1], funding.OperationKind
                                                     .FUND_MILESTONE).id

    def record(uow, operation_id, result):
        if operation_id == poisoned:
            raise RuntimeError("bug while recording")
        return real(uow, operation_id, result)

    monkeypatch.setattr(funding, "record_payment", record)
    w = worker(factory, gateway, senders=1)
    w.run_once()
    statuses = [milestone(factory, i).status for i in ids]
    assert statuses == [MilestoneStatus.ACTIVE_FUNDED, MilestoneStatus.FUNDING,
                        MilestoneStatus.ACTIVE_FUNDED]
    by_id = {op.id: op for op in operations(factory)}
    assert by_id[poisoned].status == OperationStatus.ATTENTION
    assert "bug while recording" in by_id[poisoned].last_error
    charged = {pi.metadata["operation_id"]: pi.id for pi in intents(gateway, factory)}
    assert by_id[poisoned].stripe_object_id == charged[poisoned]  # kept for adoption
    assert row(factory, ids[1]).status_qualifier == "needs attention"
    assert "needs attention" in caplog.text
    w.run_once()  # later passes are not blocked by it, and never resend it
    assert len(intents(gateway, factory)) == 3


# -- 3. the first invoice of a series, issued by two transactions at once -----------------

def test_first_invoice_of_a_series_from_two_transactions_at_once(migrated_db_url):
    engine = database.create_engine(migrated_db_url)
    database.migrate(engine)
    factory = UnitOfWorkFactory(engine, actor="t")
    party = InvoiceParty("Agency", ())

    def issue(uow) -> str:
        return invoicing.issue(uow, InvoiceKind.EMPLOYER_FUNDING, bill_to=party, project="P",
                               description="D", amount_cents=100, payment_status="Paid")

    errors, numbers = [], []
    with factory() as first:
        numbers.append(issue(first))  # holds the new counter row, not committed yet

        def second():
            try:
                with factory() as uow:
                    numbers.append(issue(uow))
                    uow.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5 if engine.dialect.name == "postgresql" else 0.0)
        first.commit()
    thread.join(30)
    engine.dispose()
    assert errors == []
    assert sorted(numbers) == [numbers[0][:-4] + "0001", numbers[0][:-4] + "0002"]


# -- 4. deleting a Not Funded milestone that once had a cancelled / declined funding -------

def test_deleting_a_milestone_keeps_its_cancelled_funding_history(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    op_id = funding.queue_funding(factory(), m_id, "test")
    funding.cancel_funding(factory(), m_id)
    services.delete_milestone(factory(), m_id)
    [op] = operations(factory)
    assert op.id == op_id and op.status == OperationStatus.CANCELLED
    assert op.milestone_id is None and op.milestone_ref == f"#{m_id} Batch 1"
    assert audit_actions(factory, m_id)[-1] == "deleted"


def test_deleting_a_milestone_after_a_declined_funding(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway, "pm_card_chargeCustomerFail")
    funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.NOT_FUNDED
    services.delete_milestone(factory(), m_id)
    [op] = operations(factory)
    assert op.status == OperationStatus.FAILED and op.milestone_ref.startswith(f"#{m_id} ")


def test_a_milestone_with_money_set_aside_cannot_be_deleted(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    op_id = funding.queue_funding(factory(), m_id, "test")
    funding.cancel_funding(factory(), m_id)
    with factory() as uow:  # Stripe charged it after all (a stray answer)
        uow.operations.get(op_id).needs_attention(uow.now, "charged after cancel", "pi_x")
        uow.commit()
    with pytest.raises(DomainError, match="still being settled"):
        services.delete_milestone(factory(), m_id)
    assert milestone(factory, m_id).status is MilestoneStatus.NOT_FUNDED


def test_a_lost_compare_and_set_during_reconcile_is_not_set_aside(factory, gateway,
                                                                  monkeypatch):
    """Found in a chaos run: another worker moved the operation between this worker's
    read and its write; that is the other worker's move, not a problem to set aside."""
    from opentrain_desk.domain.operations import StripeOperation
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    operations_.claim_next(factory(), tuple(worker(factory, gateway).handlers), timedelta(0))
    original = StripeOperation.requeue_unsent

    def racing(self, now):
        with factory.engine.begin() as conn:  # the other worker, first
            conn.execute(stripe_operations.update().where(stripe_operations.c.id == self.id)
                         .values(version=stripe_operations.c.version + 1))
        original(self, now)

    monkeypatch.setattr(StripeOperation, "requeue_unsent", racing)
    worker(factory, gateway).run_once()
    [op] = operations(factory)
    assert op.status == OperationStatus.SENDING  # untouched: not set aside
    monkeypatch.setattr(StripeOperation, "requeue_unsent", original)
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert len(intents(gateway, factory)) == 1
