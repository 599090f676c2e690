"""Settings → Team dialogs: invite a member, and show a one-time password once."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)

from ....domain.roles import Role
from ....services.team_admin import Invitation
from ...ops import user_message
from .common import label

ROLE_HINTS = {
    Role.OWNER: "everything, including the team",
    Role.FINANCE: "fund, approve & release, refunds, billing, plan, Stripe key",
    Role.MANAGER: "jobs, hires, milestones, submissions, changes",
    Role.ACCOUNTANT: "read everything, export reports, company details",
    Role.VIEWER: "read only",
}


def role_combo(name: str = "") -> QComboBox:
    combo = QComboBox(objectName=name)
    for role in Role:
        combo.addItem(f"{role.label} — {ROLE_HINTS[role]}", role)
    return combo


class AddMemberDialog(QDialog):
    """Name + role → invite (on ``ctx.db``); then the login and one-time password, once."""

    def __init__(self, invite: Callable[[str, Role, Callable, Callable], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="addMemberDialog")
        self.setWindowTitle("Add a team member")
        self._invite = invite
        self.name_edit = QLineEdit(objectName="memberNameEdit", placeholderText="Full name")
        self.name_edit.setAccessibleName("Member's name")
        self.role = role_combo("newMemberRoleCombo")
        self.role.setCurrentIndex(self.role.findData(Role.VIEWER))
        self.error = label(name="addMemberErrorLabel", role="error")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.submit = self.buttons.addButton("Add member", QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit.setObjectName("submitButton")
        self.submit.setDefault(True)
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Role:", self.role)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.rejected.connect(self.reject)
        self.submit.clicked.connect(self.accept)

    def accept(self) -> None:
        """Validation and the invitation happen here; the dialog stays until it is done."""
        if self.credentials_shown():
            super().accept()
            return
        self.submit.setEnabled(False)
        self.error.setText("")
        self._invite(self.name_edit.text(), self.role.currentData(), self._invited,
                     self._refused)

    def credentials_shown(self) -> bool:
        return self.findChild(QLineEdit, "oneTimePasswordEdit") is not None

    def _refused(self, error: BaseException) -> None:
        self.submit.setEnabled(True)
        self.error.setText(user_message(error))  # what was typed stays

    def _invited(self, invitation: Invitation) -> None:
        self.name_edit.setReadOnly(True)
        self.role.setEnabled(False)
        self.error.setText("")
        self.layout().insertWidget(2, Credentials(invitation.login, invitation.password, self))
        self.submit.setText("Done")
        self.submit.setEnabled(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).hide()


class Credentials(QWidget):
    """A login and a one-time password with Copy buttons; shown once, never stored."""

    def __init__(self, login: str, password: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="memberCredentials")
        self.login = _read_only(login, "memberLoginEdit")
        self.password = _read_only(password, "oneTimePasswordEdit")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(label("Give these to the member: the password is shown only now and must "
                          "be changed at the first sign-in.", role="hint"))
        form.addRow("Login:", _with_copy(self.login, "copyLoginButton"))
        form.addRow("One-time password:", _with_copy(self.password, "copyPasswordButton"))


def _read_only(text: str, name: str) -> QLineEdit:
    edit = QLineEdit(text, objectName=name, readOnly=True)
    edit.setAccessibleName(name)
    return edit


def _with_copy(edit: QLineEdit, name: str) -> QHBoxLayout:
    copy = QPushButton("Copy", objectName=name)
    copy.setAccessibleName(f"Copy {edit.accessibleName()}")
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(edit.text()))
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(copy)
    return row


class PasswordDialog(QDialog):
    """A reset member's new one-time password, shown once."""

    def __init__(self, name: str, login: str, password: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="oneTimePasswordDialog")
        self.setWindowTitle(f"New password for {name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(Credentials(login, password, self))
        layout.addWidget(buttons)
