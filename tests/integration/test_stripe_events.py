"""What happens at Stripe reaches the books: the event sync against the emulator over
HTTP (refunds made in the Dashboard, disputes, reversed transfers), each event once."""
from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from opentrain_desk.domain.errors import ArchiveRefused
from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.domain.operations import OperationKind
from opentrain_desk.persistence.orm import invoices, notifications
from opentrain_desk.persistence.orm import stripe_events as events_t
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.services import funding, payouts, stripe_check, stripe_events
from opentrain_desk.services import jobs as services
from opentrain_desk.services.workspace_settings import event_cursor_key, events_synced_key
from tests.integration.test_funding import hire, milestone, operations, with_card
from tests.integration.test_payouts import funded_and_submitted, ready_trainer, worker


def sandbox_post(sandbox, path: str, **data) -> dict:
    response = requests.post(f"{sandbox.base_url}/_sandbox/{path}", data=data, timeout=10)
    assert response.ok, response.text
    return response.json()


def funded(factory, gateway, n=1) -> list[int]:
    ids = hire(factory, n=n)
    with_card(factory, gateway)
    for m_id in ids:
        funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    return ids


def credit_notes(factory, m_id) -> list:
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(invoices).where(invoices.c.milestone_id == m_id,
                                                      invoices.c.kind == "CN")).all()


def kinds_notified(factory) -> list[str]:
    with factory.engine.connect() as conn:
        return list(conn.scalars(sa.select(notifications.c.kind)))


def test_a_dashboard_refund_reaches_the_books_once(factory, gateway):
    first, second = funded(factory, gateway, n=2)
    pi_first = milestone(factory, first).payment_intent_id
    pi_second = milestone(factory, second).payment_intent_id
    gateway.v1.refunds.create({"payment_intent": pi_first})                 # all of it
    gateway.v1.refunds.create({"payment_intent": pi_second, "amount": 25_000})  # a part
    report = stripe_events.sync(factory, gateway)
    assert report.applied > 0
    m = milestone(factory, first)
    assert m.status is MilestoneStatus.REFUNDED and "Stripe Dashboard" in m.status_note
    partly = milestone(factory, second)
    assert partly.status is MilestoneStatus.ACTIVE_FUNDED and "$250.00" in partly.status_note
    assert [cn.amount_cents for cn in credit_notes(factory, first)] == [125_000]
    assert [cn.amount_cents for cn in credit_notes(factory, second)] == [25_000]
    assert "refunded" in kinds_notified(factory)
    stripe_events.sync(factory, gateway)  # nothing new: nothing applied twice
    assert len(credit_notes(factory, first)) == len(credit_notes(factory, second)) == 1
    outside = [op for op in operations(factory) if op.kind == OperationKind.REFUND]
    assert len(outside) == 2 and all(op.purpose == "outside" for op in outside)
    assert stripe_check.check(factory, gateway) == []  # the books equal Stripe


def test_events_twice_and_out_of_order_apply_once(factory, gateway):
    [m_id] = funded(factory, gateway)
    pi = milestone(factory, m_id).payment_intent_id
    gateway.v1.refunds.create({"payment_intent": pi, "amount": 10_000})
    gateway.v1.refunds.create({"payment_intent": pi, "amount": 20_000})
    page = gateway.list_events()
    for event in list(page.events) + list(reversed(page.events)):  # newest first, then again
        stripe_events.apply_event(factory, gateway, event)
    assert sorted(cn.amount_cents for cn in credit_notes(factory, m_id)) == [10_000, 20_000]
    with factory.engine.connect() as conn:
        applied = conn.scalar(sa.select(sa.func.count()).select_from(events_t))
    assert applied == len(page.events)


def test_an_event_for_an_object_the_books_do_not_know_is_listed_not_fatal(factory, gateway):
    [m_id] = funded(factory, gateway)
    customer = gateway.v1.customers.retrieve(
        gateway.v1.payment_intents.retrieve(milestone(factory, m_id).payment_intent_id)
        ["customer"])
    card = customer["invoice_settings"]["default_payment_method"]
    stranger = gateway.v1.payment_intents.create({
        "amount": 999, "currency": "usd", "customer": customer.id, "payment_method": card,
        "confirm": True, "off_session": True})
    gateway.v1.refunds.create({"payment_intent": stranger.id})
    stripe_events.sync(factory, gateway)
    with factory.engine.connect() as conn:
        outcomes = set(conn.scalars(sa.select(events_t.c.outcome)))
    assert "not in these books" in outcomes
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED


def test_a_lost_cursor_rescans_without_applying_anything_twice(factory, gateway):
    [m_id] = funded(factory, gateway)
    gateway.v1.refunds.create({"payment_intent": milestone(factory, m_id).payment_intent_id})
    stripe_events.sync(factory, gateway)
    with factory() as uow:
        uow.settings.set(event_cursor_key("test"), "evt_gone")
        uow.commit()
    report = stripe_events.sync(factory, gateway)
    assert report.rescanned and len(credit_notes(factory, m_id)) == 1


def test_after_more_than_stripe_keeps_events_the_objects_are_rescanned(factory, gateway,
                                                                       sandbox):
    [m_id] = funded(factory, gateway)
    stripe_events.sync(factory, gateway)
    gateway.v1.refunds.create({"payment_intent": milestone(factory, m_id).payment_intent_id})
    sandbox_post(sandbox, "events/expire")  # the app was closed for weeks
    with factory() as uow:
        uow.settings.set(events_synced_key("test"), "2026-01-01T00:00:00+00:00")
        uow.commit()
    report = stripe_events.sync(factory, gateway)
    assert report.rescanned
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDED
    assert len(credit_notes(factory, m_id)) == 1


def test_a_dispute_shows_its_countdown_blocks_archiving_and_a_loss_is_booked(
        factory, gateway, sandbox):
    [m_id] = funded(factory, gateway)
    pi = milestone(factory, m_id).payment_intent_id
    dispute = sandbox_post(sandbox, "disputes", payment_intent=pi, reason="fraudulent",
                           due_in=5 * 86_400 + 3600)
    worker(factory, gateway).run_once()  # the payment worker syncs events too
    row = Queries(factory.engine).milestone(m_id)
    assert row.status_label == "Disputed" and row.status_qualifier == "evidence due in 5 days"
    assert row.dispute_amount_cents == 125_000
    assert "disputed" in kinds_notified(factory)
    from opentrain_desk.persistence.history_queries import NEEDS_A_PERSON
    assert "disputed" in NEEDS_A_PERSON  # the badge counts it until someone looks
    with factory() as uow:
        job_id = uow.contracts.get(uow.milestones.get(m_id).contract_id).job_id
    with pytest.raises(ArchiveRefused, match="Batch 1 — Disputed"):
        services.archive_job(factory(), job_id)
    sandbox_post(sandbox, f"disputes/{dispute['id']}/resolve", outcome="lost")
    stripe_events.sync(factory, gateway)
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.REFUNDED and "Dispute lost" in m.status_note
    assert [cn.amount_cents for cn in credit_notes(factory, m_id)] == [125_000]
    assert not Queries(factory.engine).milestone(m_id).disputed
    assert "dispute lost" in kinds_notified(factory)
    services.archive_job(factory(), job_id)  # nothing open any more


def test_a_won_dispute_keeps_the_money(factory, gateway, sandbox):
    [m_id] = funded(factory, gateway)
    dispute = sandbox_post(sandbox, "disputes",
                           payment_intent=milestone(factory, m_id).payment_intent_id)
    stripe_events.sync(factory, gateway)
    sandbox_post(sandbox, f"disputes/{dispute['id']}/resolve", outcome="won")
    stripe_events.sync(factory, gateway)
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert credit_notes(factory, m_id) == [] and "dispute won" in kinds_notified(factory)


def test_a_transfer_reversed_at_stripe_shows_the_payout_reversed(factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    worker(factory, gateway).run_once()
    [payout] = [op for op in operations(factory) if op.kind == OperationKind.PAYOUT]
    gateway.v1.transfers.reversals.create(payout.stripe_object_id)
    stripe_events.sync(factory, gateway)
    m = milestone(factory, m_id)
    assert m.payout_status is PayoutStatus.REVERSED and "$1,250.00" in m.status_note
    with factory.engine.connect() as conn:
        status = conn.scalar(sa.select(invoices.c.payment_status).where(
            invoices.c.milestone_id == m_id, invoices.c.kind == "PAY"))
    assert status == "Reversed"


def test_evidence_after_the_deadline_shows_stripes_refusal(factory, gateway, sandbox):
    from opentrain_desk.domain.errors import DomainError
    from opentrain_desk.services import disputes
    [m_id] = funded(factory, gateway)
    sandbox_post(sandbox, "disputes", payment_intent=milestone(factory, m_id).payment_intent_id,
                 due_in=-60)
    stripe_events.sync(factory, gateway)
    view = disputes.for_milestone(factory, m_id)
    assert view is not None and "Batch 1" in view.evidence["product_description"]
    with pytest.raises(DomainError, match="Stripe did not take the evidence"):
        disputes.save_evidence(factory, gateway, view.id, view.evidence, submit=True)
    assert disputes.for_milestone(factory, m_id).submitted is False


@pytest.mark.parametrize("account, settles", [("000123456789", True), ("000111111113", False)])
def test_a_bank_debit_stays_processing_then_settles_or_fails(factory, gateway, sandbox,
                                                             account, settles):
    from opentrain_desk.services import billing
    [m_id] = hire(factory)
    bank = billing.add_test_bank_account(factory, gateway, account)
    assert bank.bank and "bank debit" in bank.label
    assert bank.id in {m.id for m in billing.list_cards(factory, gateway)}
    funding.queue_funding(factory(), m_id, "test", bank.id)
    w = worker(factory, gateway)
    w.run_once()
    row = Queries(factory.engine).milestone(m_id)
    assert row.status is MilestoneStatus.FUNDING
    assert row.status_qualifier == "bank debit processing"
    assert "4 business days" in milestone(factory, m_id).status_note
    w.run_once()  # days pass without news: nothing changes, nothing is sent again
    assert len(gateway.v1.payment_intents.list({"limit": 100}).data) == 1
    sandbox_post(sandbox, "payment_intents/settle_all")  # the app was closed meanwhile
    w.run_once()  # next start: the events settle it
    m = milestone(factory, m_id)
    if settles:
        assert m.status is MilestoneStatus.ACTIVE_FUNDED
        with factory.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(invoices).where(
                invoices.c.milestone_id == m_id, invoices.c.kind == "EMP")) == 1
    else:
        assert m.status is MilestoneStatus.NOT_FUNDED and m.status_note
        assert "funding failed" in kinds_notified(factory)


def test_a_refund_that_fails_days_later_returns_the_milestone(factory, gateway, sandbox):
    from opentrain_desk.services import refunds
    [m_id] = funded(factory, gateway)
    refunds.cancel_and_refund(factory(), m_id, 125_000, "Trainer left")
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDED
    [refund] = [op for op in operations(factory) if op.kind == OperationKind.REFUND]
    sandbox_post(sandbox, f"refunds/{refund.stripe_object_id}/fail")
    stripe_events.sync(factory, gateway)
    stripe_events.sync(factory, gateway)  # once only
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.ACTIVE_FUNDED and "failed at Stripe" in m.status_note
    with factory.engine.connect() as conn:
        kinds = list(conn.scalars(sa.select(invoices.c.kind).where(
            invoices.c.milestone_id == m_id).order_by(invoices.c.id)))
    assert kinds == ["EMP", "CN", "EMP"]  # the credit note stands; the amount re-stated
    assert "refund failed" in kinds_notified(factory)
    assert stripe_check.check(factory, gateway) == []


def test_a_payout_whose_charge_was_refunded_at_stripe_fails_instead_of_retrying(
        factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    gateway.v1.refunds.create({"payment_intent": milestone(factory, m_id).payment_intent_id})
    worker(factory, gateway).run_once()  # syncs the refund, then tries the transfer
    m = milestone(factory, m_id)
    assert m.payout_status is PayoutStatus.FAILED
    [payout] = [op for op in operations(factory) if op.kind == OperationKind.PAYOUT]
    assert payout.status.name == "FAILED"
    assert "refunded or disputed" in payout.last_error
    assert gateway.v1.transfers.list().data == []


def test_two_workers_applying_the_same_event_at_once_book_it_once(factory, gateway,
                                                                  monkeypatch):
    """Found by a chaos run on PostgreSQL: both saw the event as new, the second insert of
    its id failed (UniqueViolation) and stopped that worker's sync."""
    from opentrain_desk.persistence.repositories import EventRepository
    [m_id] = funded(factory, gateway)
    gateway.v1.refunds.create({"payment_intent": milestone(factory, m_id).payment_intent_id})
    events = [e for e in gateway.list_events().events if e.type == "refund.created"]
    stripe_events.apply_event(factory, gateway, events[0])  # the other worker, first
    real_seen = EventRepository.seen
    calls = []

    def stale_seen(self, event_id):  # this worker looked just before the other committed
        calls.append(event_id)
        return False if len(calls) == 1 else real_seen(self, event_id)

    monkeypatch.setattr(EventRepository, "seen", stale_seen)
    assert stripe_events.apply_event(factory, gateway, events[0]) is None
    assert len(credit_notes(factory, m_id)) == 1


def test_the_evidence_pack_names_the_approving_member(factory, gateway, sandbox):
    """Identity everywhere: the dispute evidence says who approved, by name, not login."""
    from opentrain_desk.services import disputes, people
    [m_id] = funded_and_submitted(factory, gateway)
    people.set_my_name(factory(), "Olga Owner")  # the solo Owner, named in Settings
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    worker(factory, gateway).run_once()
    sandbox_post(sandbox, "disputes", payment_intent=milestone(factory, m_id).payment_intent_id)
    stripe_events.sync(factory, gateway)
    view = disputes.for_milestone(factory, m_id)
    delivery = view.evidence["service_documentation"]
    assert "by Olga Owner." in delivery and factory.actor not in delivery
