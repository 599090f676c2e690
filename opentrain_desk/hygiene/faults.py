"""Storage, start-up and connection faults, in words a person can act on.

A :class:`Problem` says what happened, what it means for the user's data and what to do,
and carries the exit code the app ends with when the user does not choose a way out. The
details (tracebacks, driver messages) go to the log, never to the screen. No Qt here: the
start-up dialog (:mod:`.problem_dialog`) and the background-task messages
(``ui/ops.user_message``) both read these.

Exit codes (``python -m opentrain_desk``): 0 ok (also: another window on the workspace was
brought to the front), 1 unexpected error (crash report), 2 the command line is wrong (an
invalid ``--db`` URL, like argparse's own errors), and for the workspace, following BSD
``sysexits.h``: 65 damaged or empty, 66 not found (missing folder), 69 server unreachable,
74 disk full, 75 busy (locked by another program), 77 no permission, 78 made by a newer
version.
"""
from __future__ import annotations

import errno
import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import APP_NAME
from ..redaction import redact

__all__ = ["EXIT_BUSY", "EXIT_DAMAGED", "EXIT_DISK_FULL", "EXIT_NEWER", "EXIT_NOT_FOUND",
           "EXIT_NO_PERMISSION", "EXIT_UNREACHABLE", "EXIT_USAGE", "Problem", "classify",
           "runtime_kind", "runtime_message", "safe_url"]

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger(__name__)

EXIT_USAGE = 2
EXIT_DAMAGED = 65
EXIT_NOT_FOUND = 66
EXIT_UNREACHABLE = 69
EXIT_DISK_FULL = 74
EXIT_BUSY = 75
EXIT_NO_PERMISSION = 77
EXIT_NEWER = 78

SUPPORTED = ("sqlite", "postgresql")
URL_EXAMPLES = ("A workspace address looks like sqlite:///C:/Users/you/agency.sqlite (a file "
                "on this computer) or postgresql+psycopg://user@server/agency (a shared "
                "workspace on a PostgreSQL server). Leave out --db to use your usual "
                "workspace.")


@dataclass(eq=False)  # exceptions compare and hash by identity
class Problem(Exception):
    """Something that stops the workspace from opening (or a change from being saved)."""

    kind: str       # bad-url, missing-folder, damaged, empty, newer, busy, no-permission,
    #                 disk-full, unreachable
    title: str
    what: str       # what happened
    data: str       # what it means for the user's data
    todo: str       # what to do
    exit_code: int
    retry: bool = False                     # offer Retry (busy, unreachable)
    restore: Path | None = None             # the newest backup that passes the checks
    backups: list[tuple[Path, datetime]] = field(default_factory=list)  # newest first
    workspace: Path | None = None

    def __post_init__(self) -> None:
        super().__init__(self.title)

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        return "\n\n".join(part for part in (self.what, self.data, self.todo) if part)

    def backup_lines(self, limit: int = 5) -> list[str]:
        return [f"{when.astimezone():%Y-%m-%d %H:%M}  {path}"
                for path, when in self.backups[:limit]]

    def report(self) -> str:
        """The whole message for a terminal or the log (no traceback)."""
        lines = [f"{APP_NAME}: {self.title}", "", self.text()]
        if self.backups:
            lines += ["", "Backups of this workspace (newest first):", *self.backup_lines()]
        return "\n".join(lines)


def safe_url(url: str | sa.URL) -> str:
    """A URL fit to show: the password hidden, any other secret-looking text redacted."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: show it without a password part
        text = str(url)
        if "@" in text and ":" in text.split("@", 1)[0].split("//")[-1]:
            head, tail = text.split("@", 1)
            text = head.rsplit(":", 1)[0] + ":***@" + tail
        return redact(text[:200])


# -- the problems ------------------------------------------------------------------------

def bad_url(url: str, reason: str) -> Problem:
    return Problem(
        "bad-url", "This is not a workspace address",
        f"“{safe_url(url)}” cannot be opened: {reason}.",
        "Nothing was opened or changed.", URL_EXAMPLES, EXIT_USAGE)


def missing_folder(path: Path) -> Problem:
    return Problem(
        "missing-folder", "The workspace folder does not exist",
        f"The folder {path.parent} does not exist, so there is no workspace “{path.name}” "
        "in it.",
        "Nothing was created or changed.",
        "Check the path (a mistyped folder or a disconnected drive?). To start a new "
        "workspace there, create the folder first and open it again.",
        EXIT_NOT_FOUND, workspace=path)


def not_a_file(path: Path) -> Problem:
    return Problem(
        "missing-folder", "The workspace is a folder, not a file",
        f"{path} is a folder. A workspace is a single file (for example agency.sqlite).",
        "Nothing was created or changed.", "Give the path of the workspace file itself.",
        EXIT_NOT_FOUND, workspace=path)


def damaged(path: Path, reason: str, backups, good: Path | None) -> Problem:
    empty = reason == "empty"
    what = (f"The workspace file {path} is empty (0 bytes): it holds no data." if empty else
            f"The workspace file {path} is damaged ({reason}).")
    if good is not None:
        todo = (f"Restore the newest good backup ({good.name}) with the button below, or "
                f"from a terminal: opentrain-desk --restore \"{good}\". The restore keeps "
                "the current file beside the workspace (named …damaged-<date>).")
    elif backups:
        todo = ("None of the backups passed the check either. Contact your support contact "
                "with the file; do not delete it.")
    else:
        todo = ("There is no backup of this workspace. If you meant to start a new one, "
                "move this file away first; otherwise keep it and contact your support "
                "contact.")
    return Problem(
        "empty" if empty else "damaged",
        "The workspace is empty" if empty else "The workspace file is damaged",
        what, "OpenTrain Desk did not open or change it, and no backup was overwritten.",
        todo, EXIT_DAMAGED, restore=good, backups=list(backups), workspace=path)


def too_new(revision: str, path_or_url: str, written_by: str | None = None) -> Problem:
    from .. import __version__
    from ..persistence.database import HEAD_REVISION
    maker = f"{APP_NAME} {written_by}" if written_by else f"a newer {APP_NAME}"
    return Problem(
        "newer", f"Made by a newer {APP_NAME}",
        f"The workspace {path_or_url} was made by {maker}: its data format is {revision}, "
        f"and this version ({__version__}) reads formats up to {HEAD_REVISION}.",
        "Nothing was opened or changed; no backup was written or removed.",
        f"Install {maker if written_by else 'the newer version'} to open it. A backup made "
        "before the upgrade can be restored with --restore to go back to this version.",
        EXIT_NEWER)


def busy(where: str, holder: str | None = None) -> Problem:
    who = f" ({holder})" if holder else ""
    return Problem(
        "busy", "The workspace is busy",
        f"Another program{who} has locked the workspace {where}, so it cannot be opened "
        "right now.",
        "Nothing was changed. Your data is safe; it only has to wait for the other program.",
        "Close the other program (for example a database browser, a backup or file-sync "
        "tool), then Retry. OpenTrain Desk also retries by itself.",
        EXIT_BUSY, retry=True)


def no_permission(path: Path, needs: str = "open") -> Problem:
    what = {"open": f"You do not have permission to open {path}.",
            "create": f"A new workspace cannot be created in {path.parent}: the folder is "
                      "read-only.",
            "upgrade": f"The workspace {path} is read-only, but this version has to update "
                       "its data format before it can open it."}[needs]
    return Problem(
        "no-permission", "The workspace cannot be opened", what,
        "Nothing was changed.",
        "Ask whoever manages this computer for write access to the file and its folder, "
        "or copy the workspace to a folder of your own and open that copy with --db.",
        EXIT_NO_PERMISSION, workspace=path)


def disk_full(where: str) -> Problem:
    return Problem(
        "disk-full", "The disk is full",
        f"The disk holding {where} is full.",
        "Nothing was changed: what was saved before is intact.",
        "Free some space on that disk (empty the trash, move large files), then open "
        "OpenTrain Desk again.", EXIT_DISK_FULL)


def unreachable(url: str | sa.URL, reason: str) -> Problem:
    from sqlalchemy.engine import make_url
    shown = make_url(url)
    server = f"{shown.host or 'localhost'}:{shown.port or 5432}"
    return Problem(
        "unreachable", "The workspace server cannot be reached",
        f"Could not connect to the database server {server} (workspace "
        f"“{shown.database}”): {reason}.",
        "Nothing was changed: the workspace lives on that server and is untouched.",
        "Check the network connection and that the server is running, then Retry; or "
        "open another workspace.", EXIT_UNREACHABLE, retry=True)


# -- recognising them --------------------------------------------------------------------

# SQLite's primary result codes (https://sqlite.org/rescode.html), fixed by its file
# format, spelled out so that start-up need not import sqlite3 to know them
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_AUTH, SQLITE_NOTADB = 11, 13, 14, 23, 26
_BUSY = {SQLITE_BUSY, SQLITE_LOCKED}
_CORRUPT = {SQLITE_CORRUPT, SQLITE_NOTADB}
_PERMISSION = {SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_AUTH}
_PERMISSION_ERRNO = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL_ERRNO = {errno.ENOSPC, getattr(errno, "EDQUOT", -1)}


def _dbapi_error(exc: BaseException) -> bool:
    """A SQLAlchemy DBAPIError (no SQLAlchemy loaded yet: none can have been raised, and
    start-up must not import it just to ask)."""
    exc_module = sys.modules.get("sqlalchemy.exc")
    return exc_module is not None and isinstance(exc, exc_module.DBAPIError)


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        if _dbapi_error(exc) and exc.orig is not None:
            yield exc.orig
        exc = exc.__cause__ or exc.__context__


def _sqlite_code(exc: BaseException) -> int | None:
    for each in _chain(exc):
        sqlite3 = sys.modules.get("sqlite3")  # not loaded: no SQLite error was raised
        if sqlite3 is not None and isinstance(each, sqlite3.Error):
            code = getattr(each, "sqlite_errorcode", None)
            if code is not None:
                return code & 0xFF  # extended codes carry the primary one in the low byte
            text = str(each).lower()
            if "locked" in text or "busy" in text:
                return SQLITE_BUSY
            if "readonly" in text or "read-only" in text:
                return SQLITE_READONLY
    return None


def _os_errno(exc: BaseException) -> int | None:
    for each in _chain(exc):
        if isinstance(each, OSError) and each.errno is not None:
            return each.errno
    return None


def _server_error(exc: BaseException) -> BaseException | None:
    """The driver's connection error of a database server (psycopg), if that is what it is."""
    for each in _chain(exc):
        module = type(each).__module__ or ""
        names = {cls.__name__ for cls in type(each).__mro__}
        if module.startswith("psycopg") and names & {"OperationalError", "InterfaceError"}:
            return each
    return None


def server_reason(error: BaseException) -> str:
    """What a connection error means, in plain words (the driver's text goes to the log)."""
    text = str(error).lower()
    from ..persistence.database import connect_timeout
    rules = (("timeout", f"it did not answer within {connect_timeout():g} seconds"),
             ("timed out", f"it did not answer within {connect_timeout():g} seconds"),
             ("refused", "nothing is accepting connections there (is the server running?)"),
             ("resolve", "that server name is unknown (check the spelling and the network)"),
             ("translate host", "that server name is unknown (check the spelling and the "
                                "network)"),
             ("no route", "the network has no route to it (are you offline or off the VPN?)"),
             ("unreachable", "the network cannot reach it (are you offline or off the VPN?)"),
             ("password", "it refused the user name or password"),
             ("authentication", "it refused the user name or password"),
             ("pg_hba", "it does not let this user connect from this computer"),
             ("does not exist", "the database or user does not exist on that server"),
             ("closed the connection", "it closed the connection unexpectedly"),
             ("terminat", "it closed the connection unexpectedly"),
             ("ssl", "the secure connection could not be set up"))
    return next((reason for key, reason in rules if key in text),
                "the connection failed (the details are in the log)")


def classify(exc: BaseException, *, where: str, url: str | sa.URL | None = None,
             path: Path | None = None) -> Problem | None:
    """The :class:`Problem` an exception raised while opening a workspace stands for."""
    from ..persistence.database import WorkspaceTooNew
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, WorkspaceTooNew):
        return too_new(exc.revision, where, exc.written_by)
    server = _server_error(exc)
    if server is not None and url is not None:
        return unreachable(url, server_reason(server))
    code, os_code = _sqlite_code(exc), _os_errno(exc)
    if code in _BUSY:
        return busy(where)
    if code == SQLITE_FULL or os_code in _FULL_ERRNO:
        return disk_full(where)
    if code in _PERMISSION or os_code in _PERMISSION_ERRNO:
        return no_permission(path or Path(where))
    if code in _CORRUPT and path is not None:
        return damaged(path, "it is not a readable OpenTrain Desk workspace", [], None)
    return None


# -- while the app runs ------------------------------------------------------------------

def runtime_kind(exc: BaseException) -> str | None:
    """busy / disk-full / read-only / connection for errors that are not bugs."""
    if _server_error(exc) is not None or (_dbapi_error(exc) and exc.connection_invalidated):
        return "connection"
    code, os_code = _sqlite_code(exc), _os_errno(exc)
    if code in _BUSY:
        return "busy"
    if code == SQLITE_FULL or os_code in _FULL_ERRNO:
        return "disk-full"
    if code in _PERMISSION or os_code in _PERMISSION_ERRNO:
        return "read-only"
    return None


RUNTIME_MESSAGES = {
    "busy": "The workspace is busy: another program has locked it. This change is not saved "
            "yet; what you typed is kept. OpenTrain Desk keeps trying; close the other "
            "program, or try again.",
    "disk-full": "The disk holding the workspace is full, so this change was not saved. "
                 "What you typed is kept and everything saved before is intact. Free some "
                 "space on the disk, then try again.",
    "read-only": "This workspace is read-only (no permission to change the file), so this "
                 "change was not saved. What you typed is kept; you can still look at "
                 "everything and export reports.",
    "connection": "The connection to the workspace server was lost, so this change was not "
                  "saved. What you typed is kept; OpenTrain Desk reconnects by itself. Try "
                  "again once the server is back (check first that the change is not "
                  "already there if the connection broke while saving).",
}


def runtime_message(exc: BaseException) -> str | None:
    kind = runtime_kind(exc)
    return RUNTIME_MESSAGES.get(kind) if kind else None


def writable(path: Path) -> bool:
    """``os.access`` is right for the current user (root passes, as SQLite would)."""
    return os.access(path, os.W_OK)
