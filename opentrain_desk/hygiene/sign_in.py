"""Sign-in at start-up for a team workspace (a PostgreSQL ``--db`` URL).

Before the main window opens, ``sign_in(settings)`` shows ``signInDialog`` pre-filled from
the URL (server, database, login) and connects as that member's own database login. On
success it returns the settings the rest of the app uses (the URL without a password, the
unit of work's actor = the login) and the password, which then lives only in memory (the
workspace's engine) and, with "Remember on this computer", in the OS keyring under an entry
keyed by server, database and login. A remembered password signs in without asking; when
it no longer works the entry is dropped and the dialog says why. A password written in the
URL is refused (``password_problem``): never on a command line, where ``ps`` and shell
history would keep it. SQLite, ``--demo`` and ``--sandbox`` workspaces have no sign-in.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..config import Settings
from ..domain.errors import DomainError
from . import faults

if TYPE_CHECKING:
    from ..ui.dialogs.sign_in import SignedIn, SignInForm

__all__ = ["PasswordStore", "SignInRefused", "attempt", "form_url", "password_problem",
           "prefill", "sign_in"]

log = logging.getLogger(__name__)

WRONG = "Wrong login or password."
DEACTIVATED = ("This member was deactivated or their one-time password expired: ask an "
               "Owner.")


class SignInRefused(DomainError):
    """The server said no; the message is for the person signing in."""


def needs_sign_in(settings: Settings) -> bool:
    return (not settings.demo and not settings.sandbox and bool(settings.db_url)
            and sa.engine.make_url(settings.database_url).get_backend_name() == "postgresql")


def password_problem(raw: str | None) -> faults.Problem | None:
    """A password in a server ``--db`` URL is refused before anything is opened."""
    if not raw:
        return None
    try:
        url = sa.engine.make_url(raw)
    except Exception:  # noqa: BLE001 - check_url says what is wrong with it
        return None
    if url.get_backend_name() == "sqlite" or url.password is None:
        return None
    shown = url._replace(password=None).render_as_string(hide_password=False)
    return faults.Problem(
        "password-in-url", "Passwords are not accepted on the command line",
        "The workspace address contains a password. A command line is visible to other "
        "programs and kept in your shell's history, so OpenTrain Desk refuses it.",
        "Nothing was opened or changed.",
        f"Drop the password from the address (use --db {shown}) and type it in the "
        "sign-in window; tick “Remember on this computer” to keep it in the system keyring.",
        faults.EXIT_USAGE)


def _server(url: sa.URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def prefill(url: sa.URL) -> SignInForm:
    from ..ui.dialogs.sign_in import SignInForm
    return SignInForm(_server(url), url.database or "", url.username or "")


def form_url(base: sa.URL, form: SignInForm) -> sa.URL:
    """``base`` (driver, options) pointed at the form's server, database and login; never a
    password."""
    host, _, port = form.server.rpartition(":") if ":" in form.server else (form.server, "", "")
    if port and not port.isdigit() or not host:
        raise SignInRefused(f"“{form.server}” is not a server: write host or host:port.")
    # (``URL.set`` ignores None: ``_replace`` clears a part)
    return base._replace(host=host or None, port=int(port) if port else None,
                         database=form.database, username=form.login, password=None)


class PasswordStore:
    """Remembered member passwords in the OS keyring (never a plaintext backend)."""

    def __init__(self, secrets=None) -> None:
        from ..secrets import KeyringSecretStore
        self.secrets = secrets or KeyringSecretStore()

    @staticmethod
    def name(url: sa.URL) -> str:
        return f"member-password:{url.username}@{_server(url)}/{url.database}"

    def get(self, url: sa.URL) -> str | None:
        return self.secrets.get(self.name(url)) if url.username else None

    def remember(self, url: sa.URL, password: str) -> str | None:
        """Saves it; returns why it could not be saved (no secure keyring), else None."""
        if not self.secrets.available():
            return ("The password was not remembered: this computer has no secure system "
                    f"keyring ({self.secrets.backend_name()}), and OpenTrain Desk never "
                    "keeps passwords in plain files.")
        try:
            self.secrets.set(self.name(url), password)
        except DomainError as error:
            return str(error)
        return None

    def forget(self, url: sa.URL) -> None:
        if self.secrets.available() and self.get(url) is not None:
            self.secrets.delete(self.name(url))


def refusal(error: BaseException, url: sa.URL) -> SignInRefused | None:
    """The message for a failed connection as ``url``'s login (None: not a server error)."""
    text = str(error)
    lowered = text.lower()
    if "is not permitted to log in" in lowered:
        return SignInRefused(DEACTIVATED)
    if "password authentication failed" in lowered or (
            f'role "{(url.username or "").lower()}" does not exist' in lowered):
        return SignInRefused(WRONG)
    if "database" in lowered and "does not exist" in lowered:
        return SignInRefused(f"The database “{url.database}” does not exist on the server "
                             f"{_server(url)}.")
    server = faults._server_error(error)  # noqa: SLF001 - the driver's connection error
    if server is None:
        return None
    return SignInRefused(f"Cannot reach the server {_server(url)} "
                         f"({faults.server_reason(server)}).")


_VALIDITY = sa.text(
    "SELECT rolvaliduntil IS NOT NULL AND rolvaliduntil <> 'infinity' AS one_time, "
    "COALESCE(rolvaliduntil < now(), false) AS expired FROM pg_roles "
    "WHERE rolname = current_user")
_ACTIVE = sa.text("SELECT active FROM members WHERE login = current_user")


def attempt(base: sa.URL, form: SignInForm) -> SignedIn:
    """Connect as the form's login; ``SignedIn.session`` is the URL without a password,
    ``temporary`` when the password is a one-time one (to replace before going on)."""
    from ..persistence import database
    from ..ui.dialogs.sign_in import SignedIn
    url = form_url(base, form)
    engine = database.create_engine(url.set(password=form.password))
    try:
        with engine.connect() as conn:
            validity = conn.execute(_VALIDITY).one()
            active = None
            if conn.scalar(sa.text("SELECT to_regclass('members') IS NOT NULL")):
                active = conn.scalar(_ACTIVE)
    except sa.exc.DBAPIError as error:
        refused = refusal(error, url)
        if refused is None:
            raise
        log.info("sign-in as %s on %s refused: %s", url.username, _server(url), refused)
        raise refused from None
    finally:
        engine.dispose()
    if validity.expired or active is False:  # trust auth lets an expired password through
        raise SignInRefused(DEACTIVATED)
    return SignedIn(url, temporary=bool(validity.one_time))


def change_password(base: sa.URL, form: SignInForm, new: str) -> None:
    """The first sign-in's one-time password replaced (``TeamAdmin.change_own_password``)."""
    from ..persistence import database
    admin_class = _team_admin_class()
    if admin_class is None:
        raise SignInRefused("This build cannot change passwords: ask an Owner.")
    url = form_url(base, form)
    engine = database.create_engine(url)
    try:
        admin_class(engine).change_own_password(form.login, form.password, new)
    finally:
        engine.dispose()


def _team_admin_class():
    try:
        from ..persistence.team_members import PgTeamAdmin
    except ImportError:
        try:
            from ..persistence.team_security import PgTeamAdmin  # type: ignore[no-redef]
        except ImportError:
            return None
    return PgTeamAdmin


def _in_background(work, message: str):
    """Run ``work`` on a helper thread; a small window says what is going on when it takes
    long enough to notice (as ``startup.connect_first`` does). Returns or raises its
    outcome."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication, QProgressDialog
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - handed back to the GUI thread
            outcome["error"] = error
    worker = threading.Thread(target=run, name="otd-sign-in", daemon=True)
    worker.start()
    dialog = QProgressDialog(message, "", 0, 0)
    dialog.setObjectName("signingInDialog")
    dialog.setCancelButton(None)
    dialog.setMinimumDuration(0)
    dialog.hide()
    started = time.monotonic()
    try:
        while worker.is_alive():
            if not dialog.isVisible() and time.monotonic() - started > 0.3:
                dialog.show()
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            worker.join(0.02)
    finally:
        dialog.close()
        dialog.deleteLater()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def sign_in(settings: Settings, store: PasswordStore | None = None,
            dialog_hook=None) -> tuple[Settings, str] | None:
    """Signed-in settings and the password, or None when the person cancelled.
    ``dialog_hook(dialog)`` lets a test drive the dialog instead of ``exec``."""
    from ..ui.dialogs.sign_in import SignInDialog
    base = sa.engine.make_url(settings.database_url)
    store = store or PasswordStore()
    form = prefill(base)
    error = ""
    remembered = store.get(base)
    if remembered:
        form = replace(form, password=remembered, remember=True)
        try:
            signed = _in_background(lambda: attempt(base, form),
                                    f"Signing in to {form.server} as {form.login}…")
        except SignInRefused as refused:
            signed, error = None, str(refused)
        if signed is not None and not signed.temporary:
            log.info("signed in as %s with the remembered password", form.login)
            return _signed_settings(settings, signed.session), remembered
        store.forget(base)  # it no longer works: ask, and keep no stale entry
        error = error or "This is a one-time password: choose your own to continue."
        form = replace(form, password="")
    dialog = SignInDialog(lambda f: attempt(base, f), lambda f, new: change_password(base, f,
                                                                                       new),
                          form)
    dialog.error.setText(error)
    accepted = dialog_hook(dialog) if dialog_hook is not None else dialog.exec()
    if not accepted or dialog.result_session is None:
        return None
    final = dialog.values()
    url = form_url(base, final)
    if final.remember:
        why = store.remember(url, final.password)
        if why:
            log.warning("%s", why)
            _tell(why)
    else:
        store.forget(url)
    log.info("signed in as %s on %s", final.login, _server(url))
    return _signed_settings(settings, url), final.password


def _signed_settings(settings: Settings, url: sa.URL) -> Settings:
    return replace(settings, db_url=url._replace(password=None).render_as_string(
        hide_password=False), actor=url.username)


def _tell(text: str) -> None:
    from PySide6.QtWidgets import QMessageBox
    box = QMessageBox(QMessageBox.Icon.Warning, "Password not remembered", text)
    box.setObjectName("passwordNotRememberedBox")
    box.exec()
