"""The sign-in dialog of a team workspace: refusals keep what was typed; a one-time
password is replaced before the window opens."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from opentrain_desk.domain.errors import DomainError
from opentrain_desk.ui.dialogs.sign_in import SignedIn, SignInDialog, SignInForm
from tests.ui.conftest import click, find, type_into

PREFILL = SignInForm("db.agency.lan", "books", "ana_lopez")


def make(qtbot, attempt, change=lambda form, new: None):
    dialog = SignInDialog(attempt, change, PREFILL)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_wrong_password_is_said_and_keeps_what_was_typed(qtbot):
    def attempt(form):
        raise DomainError("Wrong password for ana_lopez on db.agency.lan.")
    dialog = make(qtbot, attempt)
    type_into(qtbot, find(dialog, QLineEdit, "signInServerEdit"), "db2.agency.lan")
    type_into(qtbot, find(dialog, QLineEdit, "signInPasswordEdit"), "not-it")
    click(qtbot, find(dialog, QPushButton, "signInButton"))
    error = find(dialog, QLabel, "signInErrorLabel")
    qtbot.waitUntil(lambda: error.text().startswith("Wrong password"))
    assert dialog.isVisible()
    assert find(dialog, QLineEdit, "signInServerEdit").text() == "db2.agency.lan"
    assert find(dialog, QLineEdit, "signInLoginEdit").text() == "ana_lopez"
    assert find(dialog, QLineEdit, "signInPasswordEdit").text() == "not-it"
    assert "not-it" not in repr(dialog.values())


def test_one_time_password_is_replaced_first(qtbot):
    changed = []
    dialog = make(qtbot, lambda form: SignedIn("session", temporary=True),
                  lambda form, new: changed.append((form.login, form.password, new)))
    type_into(qtbot, find(dialog, QLineEdit, "signInPasswordEdit"), "one-time-pw")
    click(qtbot, find(dialog, QPushButton, "signInButton"))
    new = find(dialog, QLineEdit, "newPasswordEdit")
    qtbot.waitUntil(new.isVisible)
    type_into(qtbot, new, "my own password")
    type_into(qtbot, find(dialog, QLineEdit, "repeatPasswordEdit"), "my own password")
    with qtbot.waitSignal(dialog.accepted):
        click(qtbot, find(dialog, QPushButton, "signInButton"))
    assert changed == [("ana_lopez", "one-time-pw", "my own password")]
    assert dialog.result_session == "session"
