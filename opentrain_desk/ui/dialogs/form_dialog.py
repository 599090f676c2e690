"""Form dialogs that validate in ``accept()`` and save off the GUI thread.

On any error the dialog stays open, the typed text stays as it was, the message is
shown inline and the offending field is marked.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (QDateEdit, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from ...domain.errors import DomainError
from ...domain.milestones import MilestoneDraft
from ...domain.money import Money
from ..tasks import TaskRunner, user_message

NO_DATE = QDate(2000, 1, 1)


class FieldError(DomainError):
    """A validation error tied to one input widget."""

    def __init__(self, widget: QWidget, message: str) -> None:
        super().__init__(message)
        self.widget = widget


class FormDialog(QDialog):
    saved = Signal(object)
    goToSettings = Signal(str)  # "billing" | "plan" | "stripe": where to fix the problem

    def __init__(self, runner: TaskRunner, title: str, object_name: str,
                 submit_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.setObjectName(object_name)
        self.setAccessibleName(title)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error_label = QLabel(objectName="formErrorLabel", wordWrap=True)
        self.error_label.setProperty("role", "error")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.submit_button = self.buttons.addButton(
            submit_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit_button.setObjectName("submitButton")
        self.submit_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self._busy = False

    # -- subclasses -------------------------------------------------------------------
    def build(self) -> Callable[[], Any]:
        """Validate the fields; return the work to run in the background."""
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------
    def line_edit(self, label: str, name: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit(objectName=name, placeholderText=placeholder)
        edit.setAccessibleName(label.rstrip(":"))
        edit.textEdited.connect(lambda _text, w=edit: self._clear_mark(w))
        self.form.addRow(label, edit)
        return edit

    def text_edit(self, label: str, name: str, placeholder: str = "") -> QPlainTextEdit:
        edit = QPlainTextEdit(objectName=name, placeholderText=placeholder)
        edit.setAccessibleName(label.rstrip(":"))
        edit.setTabChangesFocus(True)
        edit.setFixedHeight(80)
        self.form.addRow(label, edit)
        return edit

    def date_edit(self, label: str, name: str) -> QDateEdit:
        """Optional date: the minimum value reads “No due date”."""
        edit = QDateEdit(objectName=name, calendarPopup=True)
        edit.setAccessibleName(label.rstrip(":"))
        edit.setMinimumDate(NO_DATE)
        edit.setSpecialValueText("No due date")
        edit.setDisplayFormat("MMM d, yyyy")
        edit.setDate(NO_DATE)
        self.form.addRow(label, edit)
        return edit

    @staticmethod
    def optional_date(edit: QDateEdit):
        return None if edit.date() == NO_DATE else edit.date().toPython()

    def show_error(self, message: str, widget: QWidget | None = None) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        if widget is not None:
            widget.setProperty("invalid", True)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
            widget.setFocus()

    def _clear_mark(self, widget: QWidget) -> None:
        if widget.property("invalid"):
            widget.setProperty("invalid", False)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.submit_button.setEnabled(not busy)
        self.submit_button.setText(self.submit_button.text().removesuffix("…")
                                   + ("…" if busy else ""))

    # -- flow -------------------------------------------------------------------------
    def accept(self) -> None:
        if self._busy:
            return  # a second click while saving does nothing
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
        self.runner.run(work, self._saved, self._failed)

    def _saved(self, result: Any) -> None:
        self._set_busy(False)
        self.saved.emit(result)
        super().accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.show_error(user_message(error))
        from ...domain.subscriptions import PlanRequired
        if isinstance(error, PlanRequired):
            self.offer_settings("goToPlanButton", "Choose a plan…", "plan")

    def offer_settings(self, name: str, text: str, target: str) -> None:
        """A button under the error that leads to the Settings section that fixes it."""
        button = self.findChild(QPushButton, name)
        if button is None:
            button = QPushButton(text, objectName=name)
            button.clicked.connect(lambda: (self.goToSettings.emit(target), self.reject()))
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
        try:
            return MilestoneDraft(self.title.text(), amount,
                                  self.description.toPlainText(),
                                  FormDialog.optional_date(self.due))
        except DomainError as error:
            raise FieldError(self.title, str(error)) from None

    def fill(self, title: str, description: str, amount: Money, due) -> None:
        self.title.setText(title)
        self.description.setPlainText(description)
        self.amount.setText(amount.format())
        self.due.setDate(QDate(due) if due else NO_DATE)
