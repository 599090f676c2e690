"""Sign in to a team workspace (PostgreSQL): server, database, member login, password.

Shown before the main window when the workspace URL is a server one. The attempt runs off
the GUI thread (its own :class:`Ops`); a refusal (wrong password, deactivated member,
server down) is shown in the dialog and everything typed stays. "Remember on this
computer" keeps the password in the OS keyring only (``remember``/``forget`` callables
from the composition root); a remembered password signs in without asking. A first
sign-in with a one-time password asks for a new one (``TeamAdmin.change_own_password``).
The password never goes into the URL the rest of the app sees, a file, a log or a title.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QLineEdit, QVBoxLayout, QWidget)

from ..ops import Ops, user_message


@dataclass(frozen=True)
class SignInForm:
    server: str
    database: str
    login: str
    password: str = ""
    remember: bool = False

    def __repr__(self) -> str:  # never the password
        return f"SignInForm({self.login}@{self.server}/{self.database})"


@dataclass(frozen=True)
class SignedIn:
    """What the attempt returns: ``temporary`` when the password must be replaced."""

    session: object
    temporary: bool = False


class SignInDialog(QDialog):
    def __init__(self, attempt: Callable[[SignInForm], SignedIn],
                 change_password: Callable[[SignInForm, str], None],
                 prefill: SignInForm, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="signInDialog")
        self.setWindowTitle("Sign in to the team workspace")
        self._attempt, self._change = attempt, change_password
        self.ops = Ops("sign-in", retry_busy=False)
        self.ops.setParent(self)
        self.result_session: object | None = None
        self.server = _edit("signInServerEdit", "Server", prefill.server, "host or host:port")
        self.database = _edit("signInDatabaseEdit", "Database", prefill.database)
        self.login = _edit("signInLoginEdit", "Member login", prefill.login)
        self.password = _edit("signInPasswordEdit", "Password", prefill.password)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_password = _edit("newPasswordEdit", "New password")
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = _edit("repeatPasswordEdit", "New password again")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember on this computer (in the system keyring)",
                                  objectName="rememberPasswordCheck")
        self.remember.setChecked(prefill.remember)
        self.error = QLabel(objectName="signInErrorLabel", wordWrap=True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setProperty("role", "error")
        self.form = QFormLayout()
        for text, edit in (("Server:", self.server), ("Database:", self.database),
                           ("Login:", self.login), ("Password:", self.password),
                           ("New password:", self.new_password), ("Again:", self.repeat)):
            self.form.addRow(text, edit)
        self.form.addRow(self.remember)
        self._show_new_password(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.submit = buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit.setObjectName("signInButton")
        self.submit.setDefault(True)
        buttons.rejected.connect(self.reject)
        self.submit.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        (self.password if prefill.login else self.login).setFocus()
        self._temporary = False

    def values(self) -> SignInForm:
        return SignInForm(self.server.text().strip(), self.database.text().strip(),
                          self.login.text().strip(), self.password.text(),
                          self.remember.isChecked())

    def accept(self) -> None:
        form = self.values()
        missing = [n for n, v in (("server", form.server), ("database", form.database),
                                  ("login", form.login), ("password", form.password)) if not v]
        if missing:
            self.error.setText(f"Enter the {', '.join(missing)}.")
            return
        if self._temporary:
            self._replace_password(form)
            return
        self._busy(True)
        self.ops.run(self, lambda: self._attempt(form), self._signed_in, self._refused)

    def _signed_in(self, signed: SignedIn) -> None:
        self._busy(False)
        self.result_session = signed.session
        if signed.temporary:
            self._temporary = True
            self._show_new_password(True)
            self.error.setText("This is a one-time password: choose your own to continue.")
            self.new_password.setFocus()
            return
        super().accept()

    def _replace_password(self, form: SignInForm) -> None:
        new = self.new_password.text()
        if len(new) < 10 or new != self.repeat.text():
            self.error.setText("The new password needs 10 characters or more, typed the same "
                               "twice.")
            return
        self._busy(True)
        self.ops.run(self, lambda: self._change(form, new), lambda _none: self._changed(new),
                     self._refused)

    def _changed(self, new: str) -> None:
        self.password.setText(new)
        self._busy(False)
        super().accept()

    def _refused(self, error: BaseException) -> None:
        self._busy(False)
        self.error.setText(user_message(error))  # everything typed stays

    def _busy(self, busy: bool) -> None:
        self.submit.setEnabled(not busy)
        if busy:
            self.error.setText("Signing in…")

    def _show_new_password(self, shown: bool) -> None:
        for edit in (self.new_password, self.repeat):
            self.form.setRowVisible(edit, shown)

    def done(self, code: int) -> None:
        self.ops.shutdown()
        super().done(code)


def _edit(name: str, accessible: str, text: str = "", placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(text, objectName=name, placeholderText=placeholder)
    edit.setAccessibleName(accessible)
    return edit
