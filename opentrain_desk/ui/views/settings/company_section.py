"""Settings → Company: the agency's details as printed on invoices, and its logo.

Loaded and saved through ``services.workspace_settings`` (typed :class:`CompanyDetails`,
one audited unit of work); the fields are checked here first so an error points at the
edit that holds the problem.
"""
from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import (QFormLayout, QGroupBox, QLineEdit, QPlainTextEdit,
                               QVBoxLayout, QWidget)

from ....domain.errors import ValidationError
from ....domain.jobs import clean_email, clean_required
from ....services import workspace_settings
from ....services.workspace_settings import LIMITS, CompanyDetails
from ...context import AppContext
from ...dialogs.form_dialog import FieldError
from ...ops import user_message
from .common import button, button_row, label, mark_invalid
from .logo_field import LogoField


def _optional(limit: int, what: str, value: str) -> str:
    text = value.strip()
    return clean_required(text, what, limit) if text else ""


def _email(value: str) -> str:
    return clean_email(value) if value.strip() else ""


def _address(value: str) -> str:
    text = value.strip()
    if len(text) > LIMITS["address"]:
        raise ValidationError(f"The address is too long ({LIMITS['address']} characters at "
                              "most).")
    return text


class CompanySection(QGroupBox):
    """The agency's details as printed on invoices."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Company — shown on invoices", parent, objectName="companyGroup")
        self.ctx = ctx
        self.name_edit = self._line("companyNameEdit", "Legal name", "e.g. Acme Data Labs Ltd")
        self.email_edit = self._line("companyEmailEdit", "Billing email", "billing@example.com")
        self.address_edit = QPlainTextEdit(objectName="companyAddressEdit",
                                           placeholderText="Street, city, postcode, country")
        self.address_edit.setAccessibleName("Address")
        self.address_edit.setTabChangesFocus(True)
        self.address_edit.setFixedHeight(84)
        self.address_edit.textChanged.connect(
            lambda: mark_invalid(self.address_edit, False))
        self.tax_edit = self._line("companyTaxIdEdit", "Tax / VAT ID", "e.g. GB123456789")
        self.save_button = button("Save company details", "saveCompanyButton")
        self.status_label = label(name="companyStatusLabel", role="hint")
        self.error_label = label(name="companyErrorLabel", role="error")
        self.error_label.hide()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Legal name:", self.name_edit)
        form.addRow("Email:", self.email_edit)
        form.addRow("Address:", self.address_edit)
        form.addRow("Tax / VAT ID:", self.tax_edit)
        self.logo = LogoField(ctx)
        form.addRow("Logo:", self.logo)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        row = button_row(self.save_button)
        row.insertWidget(1, self.status_label, 1)
        layout.addLayout(row)
        self.save_button.clicked.connect(self.save)

    def _line(self, name: str, accessible: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(objectName=name, placeholderText=placeholder)
        edit.setAccessibleName(accessible)
        edit.textEdited.connect(lambda _text: self._edited(edit))
        edit.returnPressed.connect(self.save)
        return edit

    def _edited(self, edit: QLineEdit) -> None:
        mark_invalid(edit, False)
        self.status_label.clear()

    def _edits(self) -> dict[str, QWidget]:
        """Each ``CompanyDetails`` field and the edit that holds it."""
        return {"name": self.name_edit, "email": self.email_edit,
                "address": self.address_edit, "tax_id": self.tax_edit}

    # -- loading ----------------------------------------------------------------------------
    def load(self) -> None:
        self.ctx.db.run(self, partial(workspace_settings.load_company, self.ctx.uow),
                        self._fill, lambda error: self._show_error(user_message(error)))
        self.logo.load()

    def _fill(self, details: CompanyDetails) -> None:
        self.name_edit.setText(details.name)
        self.email_edit.setText(details.email)
        self.address_edit.setPlainText(details.address)
        self.tax_edit.setText(details.tax_id)

    # -- saving -----------------------------------------------------------------------------
    def details(self) -> CompanyDetails:
        """The checked fields; raises FieldError naming the offending edit."""
        checks = {"name": partial(_optional, LIMITS["name"], "legal name"),
                  "email": _email,
                  "address": _address,
                  "tax_id": partial(_optional, LIMITS["tax_id"], "tax / VAT ID")}
        values: dict[str, str] = {}
        for name, edit in self._edits().items():
            text = (edit.toPlainText() if isinstance(edit, QPlainTextEdit) else edit.text())
            try:
                values[name] = checks[name](text)
                CompanyDetails(**{name: values[name]}).cleaned()  # the service's own rule
            except ValidationError as error:
                raise FieldError(edit, str(error)) from None
        return CompanyDetails(**values)

    def save(self) -> None:
        try:
            details = self.details()
        except FieldError as error:
            self._show_error(str(error))
            mark_invalid(error.widget, True)
            error.widget.setFocus()
            return
        self.error_label.hide()
        self.save_button.setEnabled(False)
        self.status_label.setText("Saving…")
        self.ctx.db.run(self, partial(workspace_settings.save_company, self.ctx.uow, details),
                        self._saved, self._save_failed)

    def _saved(self, changed: bool) -> None:
        self.save_button.setEnabled(True)
        self.status_label.setText("Saved." if changed else "No changes to save.")
        self.load()  # show what is stored (e.g. the email as normalised)

    def _save_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.status_label.clear()
        self._show_error(user_message(error))

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
