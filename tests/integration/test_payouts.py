"""Approval and payouts over Stripe Connect, against the emulator over HTTP."""
from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.errors import ArchiveRefused, ConcurrentChange, IllegalTransition
from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.domain.operations import OperationStatus
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.persistence.orm import notifications, outgoing_messages
from opentrain_desk.services import funding, payouts
from opentrain_desk.services import jobs as services
from tests.integration.test_funding import hire, milestone, with_card

SCRIPT = Path(__file__).with_name("crash_worker.py")


def worker(factory, gateway):
    return OutboxWorker(factory, lambda: gateway, lease=timedelta(0))


def funded_and_submitted(factory, gateway, n=1):
    ids = hire(factory, n=n)
    with_card(factory, gateway)
    for m_id in ids:
        funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    for m_id in ids:
        services.record_submission(factory(), m_id, "done", "https://example.com/d")
    return ids


def trainer_id(factory, m_id):
    with factory() as uow:
        return uow.contracts.get(uow.milestones.get(m_id).contract_id).trainer_id


def ready_trainer(factory, gateway, sandbox, m_id):
    t_id = trainer_id(factory, m_id)
    account = payouts.ensure_account(factory, gateway, t_id)
    sandbox.complete_onboarding(account)
    payouts.refresh_account(factory, gateway, t_id)
    return account


def transfers(gateway):
    return gateway.v1.transfers.list({"limit": 100}).data


def messages(factory):
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(outgoing_messages).order_by(outgoing_messages.c.id)).all()


def test_submission_notifies_the_employer(factory, gateway):
    [m_id] = funded_and_submitted(factory, gateway)
    with factory.engine.connect() as conn:
        [note] = conn.execute(sa.select(notifications)).all()
    assert note.kind == "submitted" and note.milestone_id == m_id and note.read_at is None
    assert "Ana Lima marked “Batch 1” complete" == note.title


def test_approve_pays_out_once_from_the_funding_charge(factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    account = ready_trainer(factory, gateway, sandbox, m_id)
    op_id = payouts.approve_milestone(factory(), m_id)
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.PAID and m.approved_by == "owner@agency"
    assert m.approved_at is not None
    worker(factory, gateway).run_once()
    m = milestone(factory, m_id)
    assert m.payout_status is PayoutStatus.PAID_OUT
    [transfer] = transfers(gateway)
    assert transfer.amount == 125000 and transfer.destination == account
    assert transfer.source_transaction == m.charge_id
    assert transfer.transfer_group == f"contract-{m.contract_id}-milestone-{m_id}"
    assert transfer.metadata["operation_id"] == op_id
    kinds = [msg.kind for msg in messages(factory)]
    assert "payout started" in kinds
    worker(factory, gateway).run_once(reconcile=True)
    assert len(transfers(gateway)) == 1


def test_approving_a_milestone_that_is_not_pending_approval_is_refused(factory, gateway):
    [m_id] = hire(factory, n=1)
    with pytest.raises(IllegalTransition, match="Cannot approve a milestone that is Not Funded"):
        payouts.approve_milestone(factory(), m_id)
    with factory() as uow:
        assert uow.operations.with_status(*OperationStatus) == []


def test_double_approve_makes_one_payout(factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    with pytest.raises(ConcurrentChange,
                       match="Changed by owner@agency at .*is Paid now. Nothing was paid twice"):
        payouts.approve_milestone(factory(), m_id)
    worker(factory, gateway).run_once()
    assert len(transfers(gateway)) == 1


def test_trainer_not_onboarded_waits_then_pays_out_after_onboarding(factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    payouts.approve_milestone(factory(), m_id)
    w = worker(factory, gateway)
    w.run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.PAID
    assert m.payout_status is PayoutStatus.PENDING_SETUP
    assert transfers(gateway) == []  # no transfer attempted while setup is incomplete
    assert messages(factory)[-1].kind == "setup needed"
    t_id = trainer_id(factory, m_id)
    url = payouts.onboarding_link(factory, gateway, t_id)
    assert "/_sandbox/onboarding/acct_" in url
    assert messages(factory)[-1].link == url
    payouts.refresh_account(factory, gateway, t_id)
    with factory() as uow:
        trainer = uow.trainers.get(t_id)
        assert not trainer.payouts_enabled and "incomplete" in trainer.payout_readiness()
    w.run_once(reconcile=True)
    assert milestone(factory, m_id).payout_status is PayoutStatus.PENDING_SETUP
    sandbox.complete_onboarding(trainer.stripe_account_id)
    w.run_once(reconcile=True)  # sync notices the account is ready and pays out
    assert milestone(factory, m_id).payout_status is PayoutStatus.PAID_OUT
    assert len(transfers(gateway)) == 1


def test_emulator_down_during_payout_retries_then_pays(factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    sandbox.stop()
    w = worker(factory, gateway)
    w.run_once(reconcile=False)
    assert milestone(factory, m_id).payout_status is PayoutStatus.PENDING_RETRY
    sandbox.start()
    w.run_once(reconcile=True)
    assert milestone(factory, m_id).payout_status is PayoutStatus.PAID_OUT
    assert len(transfers(gateway)) == 1


@pytest.mark.parametrize("code, expected", [
    ("balance_insufficient", PayoutStatus.PENDING_RETRY),
    ("insufficient_capabilities_for_transfer", PayoutStatus.PENDING_SETUP),
])
def test_balance_and_capability_errors(factory, gateway, sandbox, code, expected):
    [m_id] = funded_and_submitted(factory, gateway)
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    sandbox.inject_fault("/v1/transfers", status=400, code=code, method="POST")
    w = worker(factory, gateway)
    w.run_once(reconcile=False)
    assert milestone(factory, m_id).payout_status is expected
    assert transfers(gateway) == []
    w.run_once(reconcile=True)  # retry / re-check of the (still ready) account
    assert milestone(factory, m_id).payout_status is PayoutStatus.PAID_OUT
    assert len(transfers(gateway)) == 1


def test_final_error_marks_the_payout_failed_with_advice(factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    sandbox.inject_fault("/v1/transfers", status=400, code="parameter_invalid_integer",
                         method="POST")
    worker(factory, gateway).run_once(reconcile=False)
    assert milestone(factory, m_id).payout_status is PayoutStatus.FAILED
    with factory.engine.connect() as conn:
        note = conn.execute(sa.select(notifications).where(
            notifications.c.kind == "payout failed")).one()
    assert "Retry it once the trainer's payout account is fixed" in note.body


def test_killed_during_payout_reconciles_to_one_transfer_per_milestone(
        factory, gateway, sandbox, sqlite_url):
    ids = funded_and_submitted(factory, gateway, n=6)
    ready_trainer(factory, gateway, sandbox, ids[0])
    for m_id in ids:
        payouts.approve_milestone(factory(), m_id)
    proc = subprocess.run([sys.executable, str(SCRIPT), sqlite_url, sandbox.base_url,
                           sandbox.api_key], capture_output=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert 1 <= len(transfers(gateway)) < 6
    with factory() as uow:
        assert uow.operations.with_status(OperationStatus.SENDING)
    worker(factory, gateway).run_once()
    assert [milestone(factory, i).payout_status for i in ids] == [PayoutStatus.PAID_OUT] * 6
    found = transfers(gateway)
    assert len(found) == 6
    assert sorted(t.metadata["milestone_id"] for t in found) == sorted(map(str, ids))


def test_archive_succeeds_once_every_milestone_is_paid(factory, gateway, sandbox):
    ids = funded_and_submitted(factory, gateway, n=2)
    ready_trainer(factory, gateway, sandbox, ids[0])
    with factory() as uow:
        job_id = uow.contracts.get(uow.milestones.get(ids[0]).contract_id).job_id
    payouts.approve_milestone(factory(), ids[0])
    with pytest.raises(ArchiveRefused, match="Batch 2 — Pending approval"):
        services.archive_job(factory(), job_id)
    payouts.approve_milestone(factory(), ids[1])
    with pytest.raises(ArchiveRefused, match="Batch 2 — Paid, payout not sent yet"):
        services.archive_job(factory(), job_id)  # a pending payout keeps the job open
    worker(factory, gateway).run_once()
    assert [milestone(factory, i).payout_status for i in ids] == [PayoutStatus.PAID_OUT] * 2
    services.archive_job(factory(), job_id)


def test_money_events_issue_numbered_invoices_in_their_transaction(factory, gateway, sandbox):
    from opentrain_desk.persistence.orm import invoices
    from opentrain_desk.services import invoicing
    ids = funded_and_submitted(factory, gateway, n=2)
    ready_trainer(factory, gateway, sandbox, ids[0])
    payouts.approve_milestone(factory(), ids[0])
    with factory.engine.connect() as conn:
        rows = conn.execute(sa.select(invoices).order_by(invoices.c.id)).all()
        first = next(r for r in rows if r.milestone_id == ids[0] and r.kind == "EMP")
        doc = invoicing.document(factory, first.id)
    year = rows[0].issue_date.year
    assert [r.number for r in rows] == [f"EMP-{year}-000001", f"EMP-{year}-000002",
                                        f"PAY-{year}-000001"]
    assert [r.amount_cents for r in rows] == [125000, 125000, 125000]
    assert doc.billing_type.value == "Milestone" and doc.payment_status == "Paid"
    assert dict(doc.stripe_references)["Charge"] == milestone(factory, ids[0]).charge_id
    assert rows[2].payment_status == "Payout pending" and "Ana Lima" in rows[2].bill_to


def test_failed_funding_issues_no_invoice(factory, gateway):
    from opentrain_desk.persistence.orm import invoices
    [m_id] = hire(factory)
    with_card(factory, gateway, "pm_card_chargeCustomerFail")
    funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    with factory.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(invoices)).scalar() == 0
