"""Money off the happy path, against the emulator over HTTP: cancel & refund, partial
release, failed payouts retried or refunded, credit notes, archiving."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.errors import ArchiveRefused, DomainError, IllegalTransition
from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.domain.operations import OperationKind, OperationStatus, RefundPurpose
from opentrain_desk.persistence.history_queries import payment_history
from opentrain_desk.persistence.orm import invoices, notifications, outgoing_messages
from opentrain_desk.reports import exports
from opentrain_desk.services import jobs as services
from opentrain_desk.services import payouts, refunds
from tests.integration.test_exactly_once import settle_time_passes
from tests.integration.test_funding import milestone, operations
from tests.integration.test_invoice_pdf import pdf_text
from tests.integration.test_payouts import funded_and_submitted, ready_trainer, transfers, worker

SCRIPT = Path(__file__).with_name("crash_worker.py")
REASON = "The trainer left the project."


def stripe_refunds(gateway, m_id, factory) -> list:
    pi = milestone(factory, m_id).payment_intent_id
    return gateway.v1.refunds.list({"payment_intent": pi, "limit": 100}).data


def invoice_rows(factory, m_id) -> list:
    with factory.engine.connect() as conn:
        return conn.execute(sa.select(invoices).where(invoices.c.milestone_id == m_id)
                            .order_by(invoices.c.id)).all()


def funded(factory, gateway, n=1) -> list[int]:
    ids = funded_and_submitted(factory, gateway, n=n)
    for m_id in ids:  # back to Active & Funded: the trainer has not delivered
        services.request_changes(factory(), m_id, "not yet")
    return ids


def test_cancel_and_refund_returns_the_money_once_with_a_credit_note(factory, gateway,
                                                                    tmp_path):
    [m_id] = funded(factory, gateway)
    amount = milestone(factory, m_id).amount_cents
    refunds.cancel_and_refund(factory(), m_id, amount, REASON)
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDING
    with pytest.raises(IllegalTransition):  # a second click on confirm
        refunds.cancel_and_refund(factory(), m_id, amount, REASON)
    worker(factory, gateway).run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.REFUNDED and m.resolved
    [refund] = stripe_refunds(gateway, m_id, factory)
    assert refund.amount == amount
    emp, cn = invoice_rows(factory, m_id)
    assert cn.kind == "CN" and cn.number.startswith("CN-") and cn.corrects == emp.number
    assert cn.amount_cents == amount and REASON in cn.description
    [history] = payment_history(factory.engine, contract_id=m.contract_id)
    assert history.status is MilestoneStatus.REFUNDED and refund.id in history.stripe_refs
    pdf = exports.save_invoice_pdf(factory.engine, cn.id, tmp_path / "cn.pdf")
    text = pdf_text(pdf)
    assert "CREDIT NOTE" in text and f"Corrects {emp.number}" in text
    assert "-$1,250.00" in text and cn.number in text
    with factory.engine.connect() as conn:
        message = conn.execute(sa.select(outgoing_messages).where(
            outgoing_messages.c.kind == "milestone cancelled")).one()
    assert REASON in message.body and "No payment will be made" in message.body


@pytest.mark.parametrize("amount, message", [(0, "positive"), (-5, "positive"),
                                             (125_001, "At most \\$1,250.00")])
def test_refund_amounts_outside_what_was_charged_are_refused(factory, gateway, amount,
                                                             message):
    [m_id] = funded(factory, gateway)
    with pytest.raises(DomainError, match=message):
        refunds.cancel_and_refund(factory(), m_id, amount, REASON)
    with pytest.raises(DomainError, match="Say why"):
        refunds.cancel_and_refund(factory(), m_id, 100, "  ")
    assert milestone(factory, m_id).status is MilestoneStatus.ACTIVE_FUNDED
    assert [op for op in operations(factory) if op.kind == OperationKind.REFUND] == []


def test_pending_approval_needs_the_trainers_agreement(factory, gateway):
    [m_id] = funded_and_submitted(factory, gateway)
    with pytest.raises(DomainError, match="request changes first"):
        refunds.cancel_and_refund(factory(), m_id, 1_000, REASON)
    refunds.cancel_and_refund(factory(), m_id, 1_000, REASON, trainer_agreed=True)
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDED
    assert [r.amount for r in stripe_refunds(gateway, m_id, factory)] == [1_000]


def test_a_refund_whose_answer_dropped_after_executing_is_not_made_twice(factory, gateway,
                                                                         sandbox):
    [m_id] = funded(factory, gateway)
    refunds.cancel_and_refund(factory(), m_id, 50_000, REASON)
    sandbox.inject_fault("/v1/refunds", method="POST", when="after", drop=True)
    w = worker(factory, gateway)
    w.run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDING
    assert len(stripe_refunds(gateway, m_id, factory)) == 1  # made, answer lost
    settle_time_passes(factory)
    w.run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDED
    assert len(stripe_refunds(gateway, m_id, factory)) == 1
    assert [r.kind for r in invoice_rows(factory, m_id)] == ["EMP", "CN"]


def test_killed_between_the_refund_and_its_record_refunds_once(factory, gateway, sandbox,
                                                               sqlite_url):
    [m_id] = funded(factory, gateway)
    refunds.cancel_and_refund(factory(), m_id, 125_000, REASON)
    proc = subprocess.run([sys.executable, str(SCRIPT), sqlite_url, sandbox.base_url,
                           sandbox.api_key], capture_output=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert len(stripe_refunds(gateway, m_id, factory)) == 1
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDING
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDED
    assert len(stripe_refunds(gateway, m_id, factory)) == 1


def test_a_refund_stripe_refuses_returns_the_milestone_to_active_and_funded(factory, gateway,
                                                                           sandbox):
    [m_id] = funded(factory, gateway)
    refunds.cancel_and_refund(factory(), m_id, 125_000, REASON)
    sandbox.inject_fault("/v1/refunds", method="POST", status=400,
                         code="charge_already_refunded")
    worker(factory, gateway).run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.ACTIVE_FUNDED and "Refund failed" in m.status_note
    assert stripe_refunds(gateway, m_id, factory) == []
    assert [r.kind for r in invoice_rows(factory, m_id)] == ["EMP"]
    with factory.engine.connect() as conn:
        assert conn.execute(sa.select(notifications).where(
            notifications.c.kind == "refund failed")).all()
    refunds.cancel_and_refund(factory(), m_id, 125_000, REASON)  # can be tried again
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).status is MilestoneStatus.REFUNDED


def test_partial_release_pays_part_and_refunds_the_rest(factory, gateway, sandbox):
    [m_id] = funded_and_submitted(factory, gateway)
    account = ready_trainer(factory, gateway, sandbox, m_id)
    for bad in (0, -1, 125_001):
        with pytest.raises(DomainError):
            payouts.approve_milestone(factory(), m_id, bad)
    payouts.approve_milestone(factory(), m_id, 75_000, "Only 60% was usable.")
    worker(factory, gateway).run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.PAID and m.payout_status is PayoutStatus.PAID_OUT
    [transfer] = transfers(gateway)
    assert transfer.amount == 75_000 and transfer.destination == account
    assert [r.amount for r in stripe_refunds(gateway, m_id, factory)] == [50_000]
    emp, pay, cn = invoice_rows(factory, m_id)
    assert (pay.kind, pay.amount_cents, pay.payment_status) == ("PAY", 75_000, "Paid out")
    assert (cn.kind, cn.amount_cents, cn.corrects) == ("CN", 50_000, emp.number)
    with factory() as uow:  # more than what remains of the charge is refused
        with pytest.raises(DomainError, match=r"At most \$750\.00 .* \$500\.00 refunded"):
            refunds.queue(uow, payment_intent_id=m.payment_intent_id, amount_cents=75_001,
                          charged_cents=125_000, purpose=RefundPurpose.STRAY, reason="x")


def failed_payout(factory, gateway, sandbox) -> int:
    [m_id] = funded_and_submitted(factory, gateway)
    ready_trainer(factory, gateway, sandbox, m_id)
    payouts.approve_milestone(factory(), m_id)
    sandbox.inject_fault("/v1/transfers", method="POST", status=400, code="transfer_rejected")
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).payout_status is PayoutStatus.FAILED
    [_emp, pay] = invoice_rows(factory, m_id)
    assert pay.payment_status == "Payout failed"  # a document never says money moved
    return m_id


def test_a_failed_payout_can_be_retried_once_fixed(factory, gateway, sandbox):
    m_id = failed_payout(factory, gateway, sandbox)
    with factory() as uow:
        job_id = uow.contracts.get(uow.milestones.get(m_id).contract_id).job_id
    with pytest.raises(ArchiveRefused, match="payout Failed"):
        services.archive_job(factory(), job_id)
    payouts.retry_payout(factory(), m_id)
    with pytest.raises(DomainError, match="not Failed"):
        payouts.retry_payout(factory(), m_id)  # two clicks
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).payout_status is PayoutStatus.PAID_OUT
    assert len(transfers(gateway)) == 1
    assert invoice_rows(factory, m_id)[-1].payment_status == "Paid out"
    services.archive_job(factory(), job_id)


def test_retrying_a_payout_that_reached_stripe_after_all_makes_no_second_transfer(
        factory, gateway, sandbox):
    m_id = failed_payout(factory, gateway, sandbox)
    [op] = [op for op in operations(factory) if op.kind == OperationKind.PAYOUT]
    with factory() as uow:  # Stripe did make it (e.g. support re-ran it)
        m = uow.milestones.get(m_id)
        group = f"contract-{m.contract_id}-milestone-{m.id}"
    gateway.transfer(amount_cents=op.amount_cents, destination=op.destination,
                     source_transaction=milestone(factory, m_id).charge_id,
                     transfer_group=group, metadata={"milestone_id": str(m_id)},
                     idempotency_key="support-rerun")
    payouts.retry_payout(factory(), m_id)
    worker(factory, gateway).run_once()
    assert milestone(factory, m_id).payout_status is PayoutStatus.PAID_OUT
    assert len(transfers(gateway)) == 1


def test_a_failed_payout_refunded_to_the_employer_instead(factory, gateway, sandbox):
    m_id = failed_payout(factory, gateway, sandbox)
    payouts.refund_failed_payout(factory(), m_id, "Trainer closed their account.")
    with pytest.raises(DomainError, match="already on its way"):
        payouts.refund_failed_payout(factory(), m_id, "twice")
    worker(factory, gateway).run_once()
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.PAID and m.payout_status is PayoutStatus.REFUNDED
    assert m.resolved
    assert [r.amount for r in stripe_refunds(gateway, m_id, factory)] == [125_000]
    emp, pay, cn = invoice_rows(factory, m_id)
    assert pay.payment_status == "Refunded to employer"
    assert cn.kind == "CN" and cn.corrects == pay.number and cn.amount_cents == 125_000
    assert transfers(gateway) == []
    with factory() as uow:
        ops = uow.operations.with_status(*OperationStatus)
        assert all(not op.status.open for op in ops)


def test_reports_list_credit_notes_negative_and_net_them(factory, gateway, tmp_path):
    from opentrain_desk.persistence import reports_queries as rq
    _kept, refunded = funded(factory, gateway, n=2)
    refunds.cancel_and_refund(factory(), refunded, 125_000, REASON)
    worker(factory, gateway).run_once()
    rows = rq.list_invoices(factory.engine, sort="number", descending=False)
    assert [(r.number[:3], r.amount_cents) for r in rows] == [
        ("CN-", -125_000), ("EMP", 125_000), ("EMP", 125_000)]
    credit = rq.list_invoices(factory.engine, rq.InvoiceFilters(kind="CN"))
    assert [r.payment_status for r in credit] == ["Refunded"]
    assert rq.invoice_totals(factory.engine).amount_cents == 125_000  # 2 funded - 1 back
    by_kind = rq.invoice_totals_by_kind(factory.engine)
    assert by_kind == {"EMP": 250_000, "CN": -125_000}
    from opentrain_desk.ui.views.reports.invoices_model import directions_text
    assert "refunded -$1,250.00" in directions_text(by_kind)
    [month] = rq.monthly_totals(factory.engine, date_from=rows[0].issue_date,
                                date_to=rows[0].issue_date)
    assert month.funded_cents == 125_000
    path = tmp_path / "invoices.csv"
    exports.export_invoices_csv(factory.engine, rq.InvoiceFilters(), path)
    text = path.read_text(encoding="utf-8")
    assert "-1250.00" in text and "CN-" in text
