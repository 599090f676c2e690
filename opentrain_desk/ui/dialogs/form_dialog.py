"""Form dialogs that validate in ``accept()`` and save off the GUI thread.

Keyboard: focus starts in the first field, Enter submits (the primary button is the only
default button), Esc cancels, and closing a form with typed input asks first.
On any error the dialog stays open, the typed text stays as it was, the message is
shown inline and the offending field is marked until the form is submitted again.
"""
from __future__ import annotations

from typing import Any, Callable

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from ...domain.errors import DomainError
from ...domain.milestones import MilestoneDraft
from ...domain.money import Money
from ..ops import Ops, user_message
from ..widgets.date_field import DateField, example_text
from ..widgets.messages import confirm


class FieldError(DomainError):
    """A validation error tied to one input widget."""

    def __init__(self, widget: QWidget, message: str) -> None:
        super().__init__(message)
        self.widget = widget


class FormDialog(QDialog):
    saved = Signal(object)
    goToSettings = Signal(str)  # "billing" | "plan" | "stripe": where to fix the problem

    def __init__(self, db: Ops, title: str, object_name: str,
                 submit_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.setObjectName(object_name)
        self.setAccessibleName(title)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error_label = QLabel(objectName="formErrorLabel", wordWrap=True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setProperty("role", "error")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName(
            "cancelButton")
        self.submit_button = self.buttons.addButton(
            submit_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit_button.setObjectName("submitButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self._busy = False
        self._typed_at_open: list[str] | None = None

    # -- subclasses -------------------------------------------------------------------
    def build(self) -> Callable[[], Any]:
        """Validate the fields; return the work to run in the background."""
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------
    def line_edit(self, label: str, name: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit(objectName=name, placeholderText=placeholder)
        edit.setAccessibleName(label.rstrip(":"))
        self.form.addRow(label, edit)
        return edit

    def text_edit(self, label: str, name: str, placeholder: str = "") -> QPlainTextEdit:
        edit = QPlainTextEdit(objectName=name, placeholderText=placeholder)
        edit.setAccessibleName(label.rstrip(":"))
        edit.setTabChangesFocus(True)
        edit.setFixedHeight(80)
        self.form.addRow(label, edit)
        return edit

    def date_edit(self, label: str, name: str) -> DateField:
        """Optional date: empty reads “No due date”; a past date is warned about."""
        edit = DateField("No due date", objectName=name)
        edit.setAccessibleName(label.rstrip(":"))
        warning = QLabel(objectName=f"{name}Warning", wordWrap=True)
        warning.setTextFormat(Qt.TextFormat.PlainText)
        warning.setProperty("role", "warning")
        warning.hide()
        edit.textChanged.connect(lambda _text: _warn_if_past(edit, warning))
        self.form.addRow(label, edit)
        self.form.addRow("", warning)
        return edit

    @staticmethod
    def optional_date(edit: DateField) -> date | None:
        try:
            return edit.value()
        except ValueError:
            raise FieldError(edit, "The due date is not a date. Type it like "
                                   f"{example_text()}, pick one (Alt+Down), or leave it "
                                   "empty for no due date.") from None

    def show_error(self, message: str, widget: QWidget | None = None) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        if widget is not None:
            widget.setProperty("invalid", True)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
            widget.setFocus()

    def _clear_marks(self) -> None:
        for widget in self.findChildren(QWidget):
            if widget.property("invalid"):
                widget.setProperty("invalid", False)
                widget.style().unpolish(widget)
                widget.style().polish(widget)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.submit_button.setEnabled(not busy)
        self.submit_button.setText(self.submit_button.text().removesuffix("…")
                                   + ("…" if busy else ""))

    # -- keyboard ---------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._typed_at_open is None:
            self._typed_at_open = self._typed()
            self._keyboard_order()

    def _fields(self) -> list[QWidget]:
        """Focusable inputs in the order they appear on the form."""
        widgets = []
        for row in range(self.form.rowCount()):
            for role in (QFormLayout.ItemRole.FieldRole, QFormLayout.ItemRole.SpanningRole):
                item = self.form.itemAt(row, role)
                widget = item.widget() if item is not None else None
                if widget is not None and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
                    widgets.append(widget)
        return widgets

    def _keyboard_order(self) -> None:
        """Fields first, then the buttons; only the primary button is ever the default."""
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(button is self.submit_button)
        self.submit_button.setDefault(True)
        fields = self._fields()
        chain = fields + [b for b in self.buttons.buttons() if b is not self.submit_button]
        chain.insert(len(fields), self.submit_button)
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        enabled = [w for w in fields if w.isEnabled()]
        (enabled[0] if enabled else self.submit_button).setFocus(
            Qt.FocusReason.OtherFocusReason)

    def _typed(self) -> list[str]:
        lines = [w.text() for w in self.findChildren(QLineEdit) if not w.isReadOnly()]
        return lines + [w.toPlainText() for w in self.findChildren(QPlainTextEdit)
                        if not w.isReadOnly()]

    def reject(self) -> None:
        """Esc, Cancel or the close button: ask first when something was typed."""
        if self._typed_at_open is None or self._typed() == self._typed_at_open:
            super().reject()
            return
        confirm(self, "confirmDiscardForm", "Discard what you typed?",
                "Close this form and discard what you typed?", "Discard", self.discard,
                cancel_text="Keep editing", cancel_is_default=True)

    def discard(self) -> None:
        """Close without asking (the user chose to, or went elsewhere to fix a problem)."""
        QDialog.reject(self)

    # -- flow -------------------------------------------------------------------------
    def accept(self) -> None:
        if self._busy:
            return  # a second click while saving does nothing
        self._clear_marks()
        try:
            work = self.build()
        except FieldError as error:
            self.show_error(str(error), error.widget)
            return
        except DomainError as error:
            self.show_error(str(error))
            return
        self.error_label.hide()
        self._set_busy(True)
        self.db.run(self, work, self._saved, self._failed)

    def _saved(self, result: Any) -> None:
        self._set_busy(False)
        self.saved.emit(result)
        super().accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.show_error(user_message(error))
        from ...domain.errors import ConcurrentChange
        if isinstance(error, ConcurrentChange) and error.version is not None:
            # another seat saved first; its values are in the message and the typed ones
            # stay in the fields: saving again now replaces what was shown
            self.version = error.version
        from ...domain.subscriptions import PlanRequired
        if isinstance(error, PlanRequired):
            self.offer_settings("goToPlanButton", "Choose a plan…", "plan")

    def offer_settings(self, name: str, text: str, target: str) -> None:
        """A button under the error that leads to the Settings section that fixes it."""
        button = self.findChild(QPushButton, name)
        if button is None:
            button = QPushButton(text, objectName=name)
            button.setAutoDefault(False)
            button.clicked.connect(lambda: (self.goToSettings.emit(target), self.discard()))
            self.layout().insertWidget(self.layout().indexOf(self.buttons), button)
        button.show()


class MilestoneFields:
    """Milestone name, description, amount and optional due date on a form."""

    def __init__(self, dialog: FormDialog) -> None:
        self.title = dialog.line_edit("Milestone:", "milestoneTitleEdit",
                                      "e.g. Batch 1 — 500 labelled dialogues")
        self.description = dialog.text_edit("Description:", "milestoneDescriptionEdit",
                                            "What the trainer delivers")
        self.amount = dialog.line_edit("Amount (USD):", "milestoneAmountEdit",
                                       "e.g. 1,250.00")
        self.due = dialog.date_edit("Due date:", "milestoneDueDateEdit")

    def draft(self) -> MilestoneDraft:
        try:
            amount = Money.parse(self.amount.text())
        except DomainError as error:
            raise FieldError(self.amount, str(error)) from None
        due = FormDialog.optional_date(self.due)
        try:
            return MilestoneDraft(self.title.text(), amount,
                                  self.description.toPlainText(), due)
        except DomainError as error:
            raise FieldError(self.title, str(error)) from None

    def fill(self, title: str, description: str, amount: Money, due) -> None:
        self.title.setText(title)
        self.description.setPlainText(description)
        self.amount.setText(amount.format())
        self.due.setDate(due)


def _warn_if_past(edit: DateField, warning: QLabel) -> None:
    """A past date is allowed (e.g. recording earlier work), but said out loud."""
    value = edit.safe_value()
    past = value is not None and value < date.today()
    warning.setText("This date is in the past. You can still save it." if past else "")
    warning.setVisible(past)
