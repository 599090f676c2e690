"""One running app per workspace: a second launch brings the first to the front and exits.

Two writers on one SQLite file is how local databases get corrupted, so the guard is a
:class:`QLockFile` taken *before* the workspace is opened (before migrations, backups or
the demo seed):

* SQLite workspace: the lock sits next to the database (``workspace.sqlite.lock``), so it
  also holds against a second copy of the app started with another home folder, or from
  another computer on a shared folder;
* other URLs (PostgreSQL, shared by a team on purpose): the lock is per user and machine
  in ``<home>/locks/``, so one person does not open the same workspace twice.

The first instance also listens on a :class:`QLocalServer` whose name is derived from the
workspace; a second launch that finds the lock taken connects to it, sends ``activate``
and exits 0 with a message. A lock left by a crashed process is detected (its PID is
gone) and taken over.
"""
from __future__ import annotations

import getpass
import hashlib
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from PySide6.QtCore import QDeadlineTimer, QLockFile, QObject, QThread, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from ..config import APP_NAME, Settings

__all__ = ["SingleInstanceGuard", "lock_path", "server_name", "workspace_key"]

log = logging.getLogger(__name__)
ACTIVATE = b"activate\n"
CONNECT_TIMEOUT_MS = 500
RETRY_FOR_MS = 3000


def _sqlite_file(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def workspace_key(url: str) -> str:
    """A stable identity of the workspace: the resolved SQLite path, or the URL sans password."""
    database = _sqlite_file(url)
    if database is not None:
        text = os.path.normcase(str(database))
    else:
        text = sa.engine.make_url(url).render_as_string(hide_password=True)
    return text


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "owner"


def server_name(url: str) -> str:
    """Local socket / pipe name: per user (pipes and /tmp sockets are shared) and workspace."""
    digest = hashlib.sha256(f"{_user()}\0{workspace_key(url)}".encode()).hexdigest()[:20]
    return f"opentrain-desk-{digest}"


def lock_path(settings: Settings) -> Path:
    database = _sqlite_file(settings.database_url)
    if database is not None:
        return database.with_name(database.name + ".lock")
    return settings.home / "locks" / f"{server_name(settings.database_url)}.lock"


class SingleInstanceGuard(QObject):
    """``acquire()`` → True: this process owns the workspace; False: another one does."""

    activationRequested = Signal()

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = lock_path(settings)
        self._fallback = settings.home / "locks" / f"{server_name(settings.database_url)}.lock"
        self.name = server_name(settings.database_url)
        self.message = ""
        self._lock: QLockFile | None = None
        self._server: QLocalServer | None = None

    # -- first instance -----------------------------------------------------------------
    def acquire(self, listen: bool = True, notify: bool = True) -> bool:
        """Take the workspace lock. When it is taken already, ``notify`` asks the running
        instance to come to the front; ``message`` then says what happened."""
        lock = self._try_lock(self.path)
        if lock.error() == QLockFile.LockError.PermissionError and self.path != self._fallback:
            log.warning("cannot write %s; locking in %s instead", self.path, self._fallback)
            self.path = self._fallback  # a read-only folder next to the database
            lock = self._try_lock(self.path)
        if lock.error() != QLockFile.LockError.NoError:
            if lock.error() != QLockFile.LockError.LockFailedError:
                raise PermissionError(f"cannot create the workspace lock {self.path}")
            self.message = self._already_running(lock, notify)
            return False
        self._lock = lock
        if listen:
            self._listen()
        return True

    @staticmethod
    def _try_lock(path: Path) -> QLockFile:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = QLockFile(str(path))
        lock.setStaleLockTime(0)  # held for the whole session: staleness is by PID only
        lock.tryLock(0)
        return lock

    def _listen(self) -> None:
        QLocalServer.removeServer(self.name)  # a socket file left by a crash (Unix)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("single-instance server %s: %s", self.name, server.errorString())
            return
        server.newConnection.connect(self._on_connection)
        self._server = server

    def _on_connection(self) -> None:
        """Read the short request right here (no per-socket signal wiring to outlive us)."""
        while self._server is not None and (socket := self._server.nextPendingConnection()):
            if socket.bytesAvailable() or socket.waitForReadyRead(CONNECT_TIMEOUT_MS):
                request = bytes(socket.readAll().data())
            else:
                request = b""
            if request.startswith(ACTIVATE.strip()):
                socket.write(b"ok\n")
                socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
            socket.disconnectFromServer()
            socket.deleteLater()
            if request.startswith(ACTIVATE.strip()):
                log.info("another launch on this workspace asked to come to the front")
                self.activationRequested.emit()

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    # -- second instance ----------------------------------------------------------------
    def _already_running(self, lock: QLockFile, notify: bool) -> str:
        info = lock.getLockInfo()  # PySide6: (pid, hostname, appname), or falsy
        owner = f" (process {info[0]} on {info[1]})" if isinstance(info, tuple) else ""
        if not notify:
            return f"{APP_NAME} is running on this workspace{owner}; close it first."
        if self.notify_first():
            return (f"{APP_NAME} is already running on this workspace{owner}; "
                    "switched to that window.")
        return (f"{APP_NAME} is already open on this workspace{owner}, which could not be "
                "reached; close it first. This launch did not open the workspace.")

    def notify_first(self) -> bool:
        """Ask the running instance to show itself; retries while it is still starting."""
        deadline = QDeadlineTimer(RETRY_FOR_MS)
        while True:
            socket = QLocalSocket()
            socket.connectToServer(self.name)
            if socket.waitForConnected(CONNECT_TIMEOUT_MS):
                socket.write(ACTIVATE)
                sent = socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
                socket.waitForReadyRead(CONNECT_TIMEOUT_MS)  # the "ok" (best effort)
                socket.disconnectFromServer()
                return sent
            if deadline.hasExpired():
                return False
            QThread.msleep(100)


def bring_to_front(window) -> None:
    """Un-minimise, raise and activate a top-level window (as far as the OS allows)."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
