"""Sign-in at start-up for a team workspace, against real PostgreSQL logins.

The test server trusts 127.0.0.1 (no password is checked), so a *wrong password* cannot be
produced here: its mapping is checked on the server's own message text. Every other refusal
is the real one: a login that does not exist, a NOLOGIN (deactivated) member, a one-time
password past its VALID UNTIL, a member row marked inactive, a closed port.
"""
from __future__ import annotations

import socket
import uuid

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QWidget

from opentrain_desk import app as app_module
from opentrain_desk.config import Settings
from opentrain_desk.hygiene import sign_in
from opentrain_desk.persistence import database
from opentrain_desk.ui.dialogs.sign_in import SignInForm

PASSWORD = "Plum-Sextant-4471-secret"
NOW = "2026-03-02 09:00+00"


@pytest.fixture
def member(postgres_url):
    """A migrated workspace and a real login ``signin_…`` (an Owner in ``members``)."""
    admin = database.create_engine(postgres_url)
    database.migrate(admin)
    login = f"signin_{uuid.uuid4().hex[:8]}"
    schema = sa.engine.make_url(postgres_url).query["options"].split("=", 1)[1]
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {login} LOGIN PASSWORD '{PASSWORD}'")
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO {login}')
        conn.exec_driver_sql(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO {login}')
        conn.exec_driver_sql(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA "{schema}" TO {login}')
        conn.execute(sa.text(
            "INSERT INTO members (login, name, role, active, created_at, updated_at, "
            "version) VALUES (:l, 'Rosa Member', 'owner', true, :t, :t, 1)"),
            {"l": login, "t": NOW})
    url = sa.engine.make_url(postgres_url).set(username=login)
    yield url, login, admin
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {login} CASCADE")
        conn.exec_driver_sql(f"DROP ROLE {login}")
    admin.dispose()


def form(url: sa.URL, password: str = PASSWORD, login: str | None = None) -> SignInForm:
    return SignInForm(f"{url.host}:{url.port or 5432}", url.database,
                      login or url.username, password, remember=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refusals_are_the_servers_own_answers(member):
    url, login, admin = member
    assert sign_in.attempt(url, form(url)).temporary is False
    with pytest.raises(sign_in.SignInRefused, match="^Wrong login or password.$"):
        sign_in.attempt(url, form(url, login="nobody_" + uuid.uuid4().hex[:6]))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"ALTER ROLE {login} NOLOGIN")
    with pytest.raises(sign_in.SignInRefused, match="deactivated or their one-time"):
        sign_in.attempt(url, form(url))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"ALTER ROLE {login} LOGIN VALID UNTIL '2001-01-01'")
    with pytest.raises(sign_in.SignInRefused, match="deactivated or their one-time"):
        sign_in.attempt(url, form(url))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"ALTER ROLE {login} VALID UNTIL 'infinity'")
        conn.execute(sa.text("UPDATE members SET active = false WHERE login = :l"),
                     {"l": login})
    with pytest.raises(sign_in.SignInRefused, match="deactivated or their one-time"):
        sign_in.attempt(url, form(url))
    port = closed_port()
    down = url.set(port=port)
    with pytest.raises(sign_in.SignInRefused,
                       match=rf"^Cannot reach the server 127\.0\.0\.1:{port} \(nothing is "):
        sign_in.attempt(down, form(down))
    # trust auth never checks a password: the mapping of the server's wording
    wrong = Exception(f'connection failed: FATAL:  password authentication failed for '
                      f'user "{login}"')
    assert str(sign_in.refusal(wrong, url)) == "Wrong login or password."


def test_a_password_in_the_url_is_refused(capsys, postgres_url):
    raw = sa.engine.make_url(postgres_url).set(username="bob", password="Hunter-2-x")
    code = app_module.main(["--db", raw.render_as_string(hide_password=False)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Passwords are not accepted on the command line" in err
    assert "Hunter-2-x" not in err


def _drive(password: str, remember: bool, new: str | None = None):
    """A dialog hook: type the password, sign in, answer the one-time question."""
    def hook(dialog) -> bool:
        dialog.show()
        dialog.password.setText(password)
        dialog.remember.setChecked(remember)
        dialog.submit.click()
        if new is not None:
            _wait(lambda: dialog.new_password.isVisible() or not dialog.isVisible())
            dialog.new_password.setText(new)
            dialog.repeat.setText(new)
            dialog.submit.click()
        _wait(lambda: not dialog.isVisible())
        hook.error = dialog.error.text()
        return dialog.result() == dialog.DialogCode.Accepted
    return hook


def _wait(condition, limit: int = 2000) -> None:
    for _ in range(limit):
        if condition():
            return
        QApplication.processEvents()
        QApplication.instance().thread().msleep(5)
    raise AssertionError("timed out waiting on the sign-in dialog")


def test_signs_in_remembers_and_the_window_uses_that_login(qapp, member, tmp_path,
                                                           memory_keyring):
    url, login, _admin = member
    settings = Settings(home=tmp_path / "home", db_url=url.render_as_string(False))
    signed = sign_in.sign_in(settings, dialog_hook=_drive(PASSWORD, remember=True))
    assert signed is not None
    new_settings, password = signed
    assert password == PASSWORD and new_settings.actor == login
    assert PASSWORD not in new_settings.db_url and login in new_settings.db_url
    assert list(memory_keyring.entries.values()) == [PASSWORD]
    window = app_module.build_window(new_settings, password=password)
    try:
        _wait(lambda: window.ctx.member is not None)
        assert window.ctx.member.login == login and window.ctx.member.name == "Rosa Member"
        assert PASSWORD not in window.ctx.workspace_label
        assert "***" not in window.ctx.workspace_label
        assert PASSWORD not in window.windowTitle()
    finally:
        app_module.close_window(window)
        window.deleteLater()
    # next start: the remembered password signs in without the dialog
    def no_dialog(_dialog):
        raise AssertionError("the dialog was shown")
    again = sign_in.sign_in(settings, dialog_hook=no_dialog)
    assert again is not None and again[0].actor == login


def test_a_remembered_password_that_stopped_working_is_dropped(qapp, member, tmp_path,
                                                               memory_keyring):
    url, login, admin = member
    store = sign_in.PasswordStore()
    store.remember(url, PASSWORD)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"ALTER ROLE {login} NOLOGIN")
    hook = _drive("", remember=False)  # shown with the error; nothing typed: stays open
    seen = {}

    def look(dialog) -> bool:
        seen["error"] = dialog.error.text()
        seen["password"] = dialog.password.text()
        dialog.reject()
        return False
    settings = Settings(home=tmp_path / "home", db_url=url.render_as_string(False))
    assert sign_in.sign_in(settings, dialog_hook=look) is None
    assert "deactivated" in seen["error"] and seen["password"] == ""
    assert memory_keyring.entries == {}
    del hook


def test_first_sign_in_replaces_the_one_time_password(qapp, member, tmp_path):
    pytest.importorskip("opentrain_desk.persistence.team_members")
    from opentrain_desk.persistence import team_members, team_security
    url, login, admin = member
    with admin.begin() as conn:
        prefix = team_security.provision(conn)
        conn.exec_driver_sql(f"GRANT {prefix}_owner TO {login}")
        conn.exec_driver_sql(f"ALTER ROLE {login} VALID UNTIL 'tomorrow'")
    try:
        settings = Settings(home=tmp_path / "home", db_url=url.render_as_string(False))
        new = "Much-Longer-Own-Password-9"
        signed = sign_in.sign_in(settings, dialog_hook=_drive(PASSWORD, False, new=new))
        assert signed is not None and signed[1] == new
        with admin.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT rolpassword, rolvaliduntil IS NULL OR rolvaliduntil = 'infinity' "
                "FROM pg_authid WHERE rolname = :l"), {"l": login}).one()
        assert row[1] and team_members.matches(new, row[0])
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"REVOKE {prefix}_owner FROM {login}")
            team_members.drop_roles(conn, prefix)


def _click_later(name: str, action) -> QTimer:
    """Act on the top-level widget ``name`` once it shows (main() runs its own loop)."""
    timer = QTimer(interval=20)

    def poll() -> None:
        for widget in QApplication.topLevelWidgets():
            if widget.objectName() == name and widget.isVisible():
                timer.stop()
                action(widget)
                return
    timer.timeout.connect(poll)
    timer.start()
    return timer


@pytest.fixture
def screen(monkeypatch):
    """main() asks for a sign-in only where there is a screen (offscreen counts as none)."""
    from opentrain_desk.hygiene import problem_dialog
    monkeypatch.setattr(problem_dialog, "interactive", lambda: True)


def test_cancel_exits_0_and_creates_nothing(qapp, postgres_url, screen):
    url = sa.engine.make_url(postgres_url).set(username="someone")
    timer = _click_later("signInDialog", lambda dialog: dialog.reject())
    code = app_module.main(["--db", url.render_as_string(False)])
    timer.stop()
    assert code == 0
    admin = sa.create_engine(postgres_url)
    with admin.connect() as conn:
        assert not sa.inspect(conn).get_table_names()
    admin.dispose()


def test_main_signs_in_and_the_password_is_written_nowhere(qapp, member, tmp_path, screen):
    url, login, _admin = member
    home = tmp_path / "home"

    def fill(dialog) -> None:
        dialog.password.setText(PASSWORD)
        dialog.remember.setChecked(False)
        dialog.submit.click()
    seen = {}

    def quit_soon(window) -> None:
        seen["title"], seen["label"] = window.windowTitle(), window.ctx.workspace_label
        seen["actor"] = window.ctx.uow.actor if hasattr(window.ctx.uow, "actor") else None
        QTimer.singleShot(200, window.close)
    timers = [_click_later("signInDialog", fill), _click_later("mainWindow", quit_soon)]
    code = app_module.main(["--db", url.render_as_string(False)])
    for timer in timers:
        timer.stop()
    assert code == 0
    assert PASSWORD not in seen["title"] and PASSWORD not in seen["label"]
    assert login in seen["label"]
    written = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.suffix == ".log" or ".log" in path.name for path in written)
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_role_change_while_signed_in_takes_effect_both_ways(qapp, member, tmp_path):
    url, login, admin = member

    def set_role(role: str) -> None:
        with admin.begin() as conn:
            conn.execute(sa.text("UPDATE members SET role = :r, version = version + 1 "
                                 "WHERE login = :l"), {"r": role, "l": login})
    set_role("viewer")
    settings = Settings(home=tmp_path / "home", db_url=url.render_as_string(False),
                        actor=login)
    window = app_module.build_window(settings, password=PASSWORD)
    try:
        window.show()
        button = window.findChild(QWidget, "newJobButton")
        action = window.findChild(QAction, "actionNewJob")
        _wait(lambda: window.ctx.member is not None)
        assert not button.isEnabled() and not action.isEnabled()
        assert "Viewer" in button.toolTip()
        set_role("manager")
        window.recheck_member()  # what activation / the 30 s timer do
        _wait(lambda: button.isEnabled())
        assert action.isEnabled() and "Viewer" not in button.toolTip()
        set_role("accountant")
        window.recheck_member()
        _wait(lambda: not button.isEnabled())
        assert not action.isEnabled() and "Accountant" in button.toolTip()
    finally:
        app_module.close_window(window)
        window.deleteLater()
