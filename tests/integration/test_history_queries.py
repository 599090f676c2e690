"""Payment history, notification and trainer-message read models on SQLite + the emulator."""
from __future__ import annotations

from datetime import date, timedelta

from opentrain_desk.domain.milestones import MilestoneDraft, MilestoneStatus, PayoutStatus
from opentrain_desk.domain.money import Money
from opentrain_desk.persistence import history_queries as hq
from opentrain_desk.services import funding, payouts
from opentrain_desk.services import jobs as services
from opentrain_desk.services.notifications import mark_read, mark_sent
from tests.integration.test_funding import milestone
from tests.integration.test_payouts import (funded_and_submitted, ready_trainer, trainer_id,
                                            transfers, worker)


def contract_of(factory, m_id) -> int:
    return milestone(factory, m_id).contract_id


def second_contract(factory, gateway, amount="300.00") -> tuple[int, int]:
    """Another job and trainer with one funded milestone: (contract_id, milestone_id)."""
    job_id = services.create_job(factory(), "Medical Q&A red-teaming")
    hired = services.hire_trainer(factory(), job_id, "Bo Chen", "bo@example.com",
                                  MilestoneDraft("Round 1", Money.parse(amount)))
    funding.queue_funding(factory(), hired.milestone_id, "test")
    worker(factory, gateway).run_once()
    return hired.contract_id, hired.milestone_id


def test_history_after_fund_submit_approve_and_payout(factory, gateway, sandbox):
    first, second = funded_and_submitted(factory, gateway, n=2)
    ready_trainer(factory, gateway, sandbox, first)
    payouts.approve_milestone(factory(), first)
    worker(factory, gateway).run_once()
    [transfer] = transfers(gateway)
    paid, funded = milestone(factory, first), milestone(factory, second)

    rows = hq.payment_history(factory.engine)
    assert [r.milestone_id for r in rows] == [first, second]  # approved is newest
    top = rows[0]
    assert (top.milestone_title, top.job_title, top.trainer_name) == (
        "Batch 1", "Code review RLHF", "Ana Lima")
    assert top.amount_cents == 125000
    assert top.status is MilestoneStatus.PAID and top.payout_status is PayoutStatus.PAID_OUT
    assert top.approved_by == "owner@agency" and top.approved_at == paid.approved_at
    assert top.funded_at == paid.funded_at
    assert top.payment_intent_id == paid.payment_intent_id
    assert top.payment_intent_id.startswith("pi_")
    assert top.charge_id == paid.charge_id and top.charge_id.startswith("ch_")
    assert top.transfer_id == transfer.id and top.transfer_id.startswith("tr_")
    assert top.stripe_refs == (paid.payment_intent_id, paid.charge_id, transfer.id)
    other = rows[1]
    assert other.status is MilestoneStatus.PENDING_APPROVAL
    assert other.approved_at is None and other.approved_by is None
    assert other.transfer_id is None and other.payout_status is PayoutStatus.NOT_STARTED
    assert other.payment_intent_id == funded.payment_intent_id
    assert hq.count_payment_history(factory.engine) == 2
    assert hq.payment_history_totals(factory.engine) == hq.HistoryTotals(2, 250000)


def test_payout_waiting_for_setup_has_no_transfer_id(factory, gateway):
    [m_id] = funded_and_submitted(factory, gateway)
    payouts.approve_milestone(factory(), m_id)
    worker(factory, gateway).run_once()
    [row] = hq.payment_history(factory.engine)
    assert row.payout_status is PayoutStatus.PENDING_SETUP
    assert row.approved_at is not None and row.transfer_id is None


def test_history_per_contract_and_excludes_unfunded(factory, gateway):
    [m_id] = funded_and_submitted(factory, gateway)
    contract_id = contract_of(factory, m_id)
    unfunded = services.add_milestone(factory(), contract_id,
                                      MilestoneDraft("Batch 2", Money.parse("99.00")))
    other_contract, other_m = second_contract(factory, gateway)
    everything = [r.milestone_id for r in hq.payment_history(factory.engine)]
    assert sorted(everything) == sorted([m_id, other_m]) and unfunded not in everything
    assert [r.milestone_id for r in hq.payment_history(
        factory.engine, contract_id=contract_id)] == [m_id]
    assert [r.milestone_id for r in hq.payment_history(
        factory.engine, contract_id=other_contract)] == [other_m]
    assert hq.count_payment_history(factory.engine, contract_id=other_contract) == 1
    assert hq.payment_history_totals(factory.engine, contract_id=other_contract).amount_cents \
        == 30000


def test_history_filters_and_paging(factory, gateway, sandbox):
    ids = funded_and_submitted(factory, gateway, n=3)
    ready_trainer(factory, gateway, sandbox, ids[0])
    payouts.approve_milestone(factory(), ids[0])
    worker(factory, gateway).run_once()
    _contract, other_m = second_contract(factory, gateway)
    engine, today = factory.engine, date.today()

    def found(**filters):
        return sorted(r.milestone_id for r in hq.payment_history(engine, **filters))

    assert found(trainer_text="bo chen") == [other_m]
    assert found(trainer_text="ANA@EXAMPLE") == sorted(ids)
    assert found(job_text="red-team") == [other_m]
    assert found(job_text="100%") == []  # LIKE wildcards are escaped
    assert found(payout_status=PayoutStatus.PAID_OUT) == [ids[0]]
    assert found(payout_status=[PayoutStatus.PAID_OUT, PayoutStatus.NOT_STARTED]) == sorted(
        ids + [other_m])
    assert found(date_from=today, date_to=today) == sorted(ids + [other_m])
    assert found(date_from=today + timedelta(days=1)) == []
    assert found(date_to=today - timedelta(days=1)) == []
    assert hq.count_payment_history(engine, trainer_text="ana", payout_status=[
        PayoutStatus.NOT_STARTED]) == 2
    first_page = hq.payment_history(engine, limit=3)
    rest = hq.payment_history(engine, after=first_page[-1], limit=3)  # keyset
    assert len(first_page) == 3 and len(rest) == 1
    assert {r.milestone_id for r in first_page} | {r.milestone_id for r in rest} == set(
        ids + [other_m])


def test_notifications_newest_first_and_unread_counts(factory, gateway, sandbox):
    ids = funded_and_submitted(factory, gateway, n=2)
    engine = factory.engine
    assert hq.unread_count(engine) == 2 and hq.count_notifications(engine) == 2
    page = hq.notifications_page(engine)
    assert [n.milestone_id for n in page] == [ids[1], ids[0]]  # newest first
    assert all(n.unread and n.kind == "submitted" for n in page)
    assert page[0].title == "Ana Lima marked “Batch 2” complete"
    assert page[0].first_line == "Code review RLHF · review and approve to release $1,250.00."
    assert page[0].contract_id == contract_of(factory, ids[1]) and page[0].job_id is not None
    latest = hq.latest_notification_id(engine)
    assert latest == page[0].id

    mark_read(factory(), [page[1].id])
    assert hq.unread_count(engine) == 1
    assert [n.unread for n in hq.notifications_page(engine)] == [True, False]

    ready_trainer(factory, gateway, sandbox, ids[0])
    payouts.approve_milestone(factory(), ids[0])
    worker(factory, gateway).run_once()
    [paid] = hq.unread_after(engine, latest)
    assert paid.kind == "paid out" and paid.title == "$1,250.00 paid out to Ana Lima"
    assert paid.milestone_id == ids[0]
    assert hq.unread_count(engine) == 2
    [newest] = hq.notifications_page(engine, limit=1)
    assert [n.id for n in hq.notifications_page(engine, after=newest, limit=1)] == [page[0].id]
    mark_read(factory())
    assert hq.unread_count(engine) == 0 and hq.unread_after(engine, 0) == []


def test_trainer_messages_per_trainer_newest_first(factory, gateway):
    [m_id] = funded_and_submitted(factory, gateway)
    _contract, other_m = second_contract(factory, gateway)
    ana, bo = trainer_id(factory, m_id), trainer_id(factory, other_m)
    payouts.approve_milestone(factory(), m_id)  # Ana is not set up: "setup needed"
    url = payouts.onboarding_link(factory, gateway, ana)
    engine = factory.engine

    messages = hq.trainer_messages(engine, ana)
    assert [m.kind for m in messages] == ["onboarding link", "setup needed"]
    assert messages[0].link == url and url in messages[0].body
    assert messages[1].subject == "Finish your payout setup to get paid"
    assert "$1,250.00" in messages[1].body and not any(m.sent for m in messages)
    assert hq.trainer_messages(engine, bo) == []
    assert hq.unsent_message_count(engine, ana) == 2 and hq.unsent_message_count(engine, bo) == 0

    mark_sent(factory(), messages[1].id)
    again = hq.trainer_messages(engine, ana)
    assert [m.sent for m in again] == [False, True] and again[1].sent_at is not None
    assert hq.unsent_message_count(engine) == 1
