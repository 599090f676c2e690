"""The Dispute panel: the evidence pack from the books, reviewed, edited, saved at Stripe
without submitting, and submitted before the deadline."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QPlainTextEdit, QVBoxLayout)

from ...domain.disputes import EVIDENCE_FIELDS, countdown
from ...services import disputes
from .. import formatting as fmt
from ..context import AppContext
from ..ops import user_message
from ..widgets.messages import confirm


class DisputeDialog(QDialog):
    changed = Signal()

    def __init__(self, ctx: AppContext, milestone_id: int, title: str, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.milestone_id, self.view = ctx, milestone_id, None
        self.setObjectName("disputePanel")
        self.setWindowTitle(f"Dispute — {title}")
        self.setMinimumWidth(620)
        self.summary = QLabel("Loading the dispute…", objectName="disputeSummaryLabel",
                              wordWrap=True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.status = QLabel(objectName="disputeStatusLabel", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.edits: dict[str, QPlainTextEdit] = {}
        form = QFormLayout()
        for name in EVIDENCE_FIELDS:
            edit = QPlainTextEdit(objectName=f"evidence_{name}", tabChangesFocus=True)
            edit.setFixedHeight(70 if name != "service_date" else 34)
            edit.setAccessibleName(disputes.LABELS[name])
            self.edits[name] = edit
            form.addRow(disputes.LABELS[name] + ":", edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.save = buttons.addButton("Save at Stripe", QDialogButtonBox.ButtonRole.ActionRole)
        self.save.setObjectName("saveEvidenceButton")
        self.submit = buttons.addButton("Submit evidence…",
                                        QDialogButtonBox.ButtonRole.ActionRole)
        self.submit.setObjectName("submitEvidenceButton")
        buttons.rejected.connect(self.reject)
        self.save.clicked.connect(partial(self._send, False))
        self.submit.clicked.connect(self._confirm_submit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self._enable(False)
        ctx.db.run(self, partial(disputes.for_milestone, ctx.uow, milestone_id), self._show,
                   self._failed)

    def _enable(self, enabled: bool) -> None:
        self.save.setEnabled(enabled)
        self.submit.setEnabled(enabled)

    def _show(self, view) -> None:
        self.view = view
        if view is None:
            self.summary.setText("This milestone has no open dispute.")
            return
        when = countdown(view.due_by, datetime.now(timezone.utc))
        self.summary.setText(
            f"{fmt.money(view.amount_cents)} disputed — reason: "
            f"{view.reason.replace('_', ' ')} — {view.status.replace('_', ' ')}"
            + (f" — {when} ({fmt.day(view.due_by)})" if when else "")
            + ".\nThe evidence below was written from your records: review and edit it, "
              "save it at Stripe, then submit it before the deadline (once only).")
        for name, edit in self.edits.items():
            edit.setPlainText(view.evidence.get(name, ""))
        self._enable(not view.submitted and view.status == "needs_response")
        if view.submitted:
            self.status.setText("Evidence submitted: Stripe and the card issuer review it.")

    def _evidence(self) -> dict:
        return {name: edit.toPlainText() for name, edit in self.edits.items()}

    def _confirm_submit(self) -> None:
        confirm(self, "confirmSubmitEvidence", "Submit evidence",
                "Submit this evidence to Stripe? A dispute's evidence can be submitted only "
                "once; it cannot be changed afterwards.", "Submit",
                partial(self._send, True))

    def _send(self, submit: bool) -> None:
        gateway = self.ctx.stripe.gateway() if self.ctx.stripe else None
        if self.view is None or gateway is None:
            self.status.setText("Connect Stripe first: Settings → Stripe.")
            return
        self._enable(False)
        self.status.setText("Submitting…" if submit else "Saving at Stripe…")
        self.ctx.net.run(  # the panel may be closed before Stripe answers: then dropped
            self, partial(disputes.save_evidence, self.ctx.uow, gateway, self.view.id,
                          self._evidence(), submit), partial(self._sent, submit),
            self._failed)

    def _sent(self, submit: bool, status: str) -> None:
        self.status.setText("Evidence submitted: Stripe and the card issuer review it."
                            if submit else "Saved at Stripe (not submitted yet).")
        self._enable(not submit and status == "needs_response")
        self.changed.emit()

    def _failed(self, error: BaseException) -> None:
        self.status.setText(user_message(error))
        self._enable(self.view is not None and not self.view.submitted)
