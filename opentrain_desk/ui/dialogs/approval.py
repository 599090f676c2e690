"""Approve & Release Payment: a deliberate confirmation before money leaves."""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel

from ...domain.errors import InvalidAmount
from ...domain.money import Money
from ...services.read_models import MilestoneRow
from ...services import payouts
from .. import formatting as fmt
from ..context import AppContext
from ..widgets.labels import breakable, plain_label
from .form_dialog import FieldError, FormDialog


def _plain(text: str) -> QLabel:
    return plain_label(text, wrap=True)


class ApproveDialog(FormDialog):
    def __init__(self, ctx: AppContext, milestone: MilestoneRow, trainer_name: str,
                 parent=None) -> None:
        amount = fmt.money(milestone.amount_cents)
        super().__init__(ctx.db, "Approve & Release Payment", "approveDialog",
                         f"Approve && release {amount}", parent)
        self.ctx, self.milestone = ctx, milestone
        self.submit_button.setObjectName("confirmApproveButton")
        self.form.addRow("Trainer:", _plain(trainer_name))
        self.form.addRow("Milestone:", _plain(milestone.title))
        amount_label = QLabel(amount, objectName="approveAmountLabel")
        amount_label.setProperty("role", "title")
        self.form.addRow("Amount:", amount_label)
        self.release = self.line_edit("Release ($):", "releaseAmountEdit")
        self.release.setText(Money(milestone.amount_cents).plain())
        self.release.setToolTip("Release less for a partial release: the rest is refunded "
                                "to your payment method")
        self.remainder = _plain("")
        self.remainder.setObjectName("releaseRemainderLabel")
        self.remainder.setProperty("role", "hint")
        self.form.addRow(self.remainder)
        self.release.textChanged.connect(self._show_remainder)
        if milestone.submission_note:
            self.form.addRow("Trainer's note:", _plain(milestone.submission_note))
        if milestone.deliverable_url:
            link = QLabel(objectName="deliverableLink", openExternalLinks=True, wordWrap=True)
            link.setTextFormat(Qt.TextFormat.RichText)
            from html import escape
            link.setText(f'<a href="{escape(milestone.deliverable_url, quote=True)}">'
                         f"{escape(breakable(milestone.deliverable_url))}</a>")
            self.form.addRow("Deliverable:", link)
        warning = _plain("Releasing pays the trainer from this milestone's funds. Released "
                         "funds cannot be reversed from this app.")
        warning.setObjectName("approveWarningLabel")
        warning.setProperty("role", "banner")
        self.form.addRow(warning)
        self.verified = QCheckBox("I have verified the delivered work",
                                  objectName="verifiedWorkCheck")
        self.form.addRow(self.verified)
        self.submit_button.setEnabled(False)
        self.verified.toggled.connect(self._toggle)

    def _release_cents(self) -> int | None:
        try:
            return Money.parse(self.release.text()).cents
        except InvalidAmount:
            return None

    def _show_remainder(self, _text: str = "") -> None:
        cents = self._release_cents()
        rest = self.milestone.amount_cents - cents if cents is not None else 0
        self.remainder.setText(f"Partial release: {fmt.money(rest)} is refunded to you "
                               "(with a credit note)." if 0 < rest < self.milestone.amount_cents
                               else "")
        if cents is not None and not self._busy:
            self.submit_button.setText(f"Approve && release {fmt.money(cents)}")

    def _toggle(self, checked: bool) -> None:
        if not self._busy:
            self.submit_button.setEnabled(checked)

    def _set_busy(self, busy: bool) -> None:
        super()._set_busy(busy)
        if not busy:
            self.submit_button.setEnabled(self.verified.isChecked())

    def build(self):
        if not self.verified.isChecked():
            raise FieldError(self.verified, "Confirm that you have verified the delivered "
                                            "work before releasing payment.")
        try:
            release = Money.parse(self.release.text()).cents
        except InvalidAmount as error:
            raise FieldError(self.release, str(error)) from None
        if release > self.milestone.amount_cents:
            raise FieldError(self.release, "At most the milestone amount "
                             f"({fmt.money(self.milestone.amount_cents)}) can be released.")
        return partial(payouts.approve_milestone, self.ctx.uow(), self.milestone.id, release,
                       "Partial release: the part not released")
