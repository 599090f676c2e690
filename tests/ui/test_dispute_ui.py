"""A disputed milestone in the timeline and its Dispute panel (sandbox, real events)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QPushButton

from opentrain_desk.ui.models.tables import MilestoneColumn
from tests.ui.conftest import (click, confirm_box, contract_of, find, select_row,
                               table_column, wait_dialog)
from tests.ui.test_refund_ui import open_funded


def test_a_dispute_is_shown_and_answered_with_evidence_from_the_books(
        qtbot, sandbox_window, gateway, sandbox):
    window = sandbox_window
    table, m_id = open_funded(qtbot, window, gateway, sandbox)
    with window.ctx.uow() as uow:
        pi = uow.milestones.get(m_id).payment_intent_id
    dispute = sandbox.open_dispute(payment_intent=pi, reason="product_not_received",
                                   due_in=5 * 86_400 + 3_600)
    window.ctx.sync.sync_now()
    qtbot.waitUntil(lambda: table_column(table, MilestoneColumn.STATUS) == [
        "Disputed (evidence due in 5 days)"], timeout=10000)
    contract = contract_of(table)
    select_row(qtbot, table, 0)
    button = contract.findChild(QPushButton, "disputeButton")
    qtbot.waitUntil(button.isVisible)
    assert not contract.findChild(QPushButton, "refundMilestoneButton").isVisible()
    click(qtbot, button)
    panel = wait_dialog(qtbot, window, "disputePanel")
    product = find(panel, QPlainTextEdit, "evidence_product_description")
    qtbot.waitUntil(lambda: "Batch 1" in product.toPlainText())
    assert "EMP-" in find(panel, QPlainTextEdit, "evidence_uncategorized_text").toPlainText()
    assert "product not received" in find(panel, QLabel, "disputeSummaryLabel").text()
    product.setPlainText(product.toPlainText() + "\nThe trainer delivered on time.")
    click(qtbot, find(panel, QPushButton, "saveEvidenceButton"))
    status = find(panel, QLabel, "disputeStatusLabel")
    qtbot.waitUntil(lambda: "Saved at Stripe" in status.text(), timeout=10000)
    staged = gateway.v1.disputes.retrieve(dispute["id"])
    assert staged.status == "needs_response"
    assert "delivered on time" in staged.evidence.product_description
    submit = find(panel, QPushButton, "submitEvidenceButton")
    qtbot.waitUntil(submit.isEnabled)
    click(qtbot, submit)
    confirm_box(qtbot, panel, "confirmSubmitEvidence")
    qtbot.waitUntil(lambda: "submitted" in status.text(), timeout=10000)
    assert gateway.v1.disputes.retrieve(dispute["id"]).status == "under_review"
    assert not submit.isEnabled()
