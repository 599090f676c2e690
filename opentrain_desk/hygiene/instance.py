"""One running app per workspace: a second launch brings the first to the front and exits.

Two writers on one SQLite file is how local databases get corrupted, so the guard is an
OS file lock (:func:`os_lock`: ``fcntl.flock`` on macOS/Linux, ``msvcrt.locking`` on
Windows) taken *before* the workspace is opened (before migrations, backups or the demo
seed). The OS releases it when the process ends, however it ends, so a lock is never stale
and a PID reused by an unrelated program cannot keep the app from starting; the file also
records which process holds it, to name it in messages.

* SQLite workspace: the lock sits next to the database (``workspace.sqlite.lock``), so it
  also holds against a second copy of the app started with another home folder, or from
  another computer on a shared folder;
* other URLs (PostgreSQL, shared by a team on purpose): the lock is per user and machine
  in ``<home>/locks/``, so one person does not open the same workspace twice;
* a folder that cannot be written (read-only, or missing: it is never created here) falls
  back to ``<home>/locks/`` and then to the system's temporary folder.

The first instance also listens on a :class:`QLocalServer` whose name is derived from the
workspace; a second launch that finds the lock taken connects to it, sends ``activate``
and exits 0 with a message.
"""
from __future__ import annotations

import getpass
import hashlib
import logging
import os
import sys
from pathlib import Path
from typing import IO

from PySide6.QtCore import QDeadlineTimer, QObject, QThread, Signal

from ..config import APP_NAME, Settings, plain_sqlite_file

__all__ = ["LockFile", "SingleInstanceGuard", "lock_path", "os_lock", "server_name",
           "workspace_key"]

log = logging.getLogger(__name__)
ACTIVATE = b"activate\n"
CONNECT_TIMEOUT_MS = 500
RETRY_FOR_MS = 3000


def _sqlite_file(url: str) -> Path | None:
    simple = plain_sqlite_file(url)  # the usual case, known before SQLAlchemy is loaded
    if simple is not None:
        return simple.expanduser().resolve()
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def workspace_key(url: str) -> str:
    """A stable identity of the workspace: the resolved SQLite path, or the URL sans password."""
    database = _sqlite_file(url)
    if database is not None:
        text = os.path.normcase(str(database))
    else:
        from sqlalchemy.engine import make_url
        text = make_url(url).render_as_string(hide_password=True)
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


#: Windows locks byte ranges and forbids others to read a locked range: lock one byte far
#: past the holder's details so a second launch can still read who holds it.
_LOCK_OFFSET = 1 << 20


def os_lock(fh: IO[bytes]) -> bool:
    """Take an exclusive, non-blocking OS lock on an open file; False when another process
    (or another open file in this one) holds it. Released by :func:`os_unlock` or when the
    file is closed / the process ends."""
    try:
        if sys.platform == "win32":
            import msvcrt
            fh.seek(_LOCK_OFFSET)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            fh.seek(0)
        else:
            import fcntl
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def os_unlock(fh: IO[bytes]) -> None:
    if sys.platform == "win32":
        import msvcrt
        fh.seek(_LOCK_OFFSET)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class LockFile:
    """A held OS lock plus the holder's details (``pid``, host, app) written inside."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def try_lock(self) -> bool:
        """True: held now. False: someone else holds it. OSError: cannot create the file."""
        fh = open(self.path, "a+b")  # never truncates another holder's details
        if not os_lock(fh):
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        import socket
        fh.write(f"{os.getpid()}\n{socket.gethostname()}\n{APP_NAME}\n".encode())
        fh.flush()
        self._fh = fh
        return True

    def holder(self) -> tuple[str, str] | None:
        """(pid, host) written by the holder, when readable."""
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        return (lines[0], lines[1]) if len(lines) >= 2 and lines[0].isdigit() else None

    def unlock(self) -> None:
        if self._fh is None:
            return
        try:
            self._fh.seek(0)
            self._fh.truncate()
            os_unlock(self._fh)
        except OSError:
            pass
        finally:
            self._fh.close()
            self._fh = None


def _lock_dirs(settings: Settings, first: Path) -> list[Path]:
    fallback = settings.home / "locks" / f"{server_name(settings.database_url)}.lock"
    import tempfile
    temp = (Path(tempfile.gettempdir()) / f"opentrain-desk-{_user()}"
            / f"{server_name(settings.database_url)}.lock")
    return list(dict.fromkeys([first, fallback, temp]))


class SingleInstanceGuard(QObject):
    """``acquire()`` → True: this process owns the workspace; False: another one does."""

    activationRequested = Signal()

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = lock_path(settings)
        self._candidates = _lock_dirs(settings, self.path)
        self.name = server_name(settings.database_url)
        self.message = ""
        self._lock: LockFile | None = None
        self._server = None  # QLocalServer, once listening

    # -- first instance -----------------------------------------------------------------
    def acquire(self, listen: bool = True, notify: bool = True) -> bool:
        """Take the workspace lock. When it is taken already, ``notify`` asks the running
        instance to come to the front; ``message`` then says what happened."""
        for index, path in enumerate(self._candidates):
            lock = LockFile(path)
            try:
                if index:  # our own folders; next to the database only if it exists
                    path.parent.mkdir(parents=True, exist_ok=True)
                held = lock.try_lock()
            except OSError as error:
                log.warning("cannot write the lock %s (%s); trying elsewhere", path,
                            error.strerror or error)
                continue
            self.path = path
            if not held:
                self.message = self._already_running(lock, notify)
                return False
            self._lock = lock
            if listen:
                self.listen()
            return True
        raise PermissionError(f"cannot create the workspace lock {self._candidates[0]}")

    def listen(self) -> None:
        """Answer later launches on this workspace (``acquire(listen=False)`` leaves this
        for after the window is on screen: QtNetwork need not load before it)."""
        from PySide6.QtNetwork import QLocalServer
        if self._lock is None or self._server is not None:
            return
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
    def _already_running(self, lock: LockFile, notify: bool) -> str:
        info = lock.holder()
        owner = f" (process {info[0]} on {info[1]})" if info else ""
        if not notify:
            return f"{APP_NAME} is running on this workspace{owner}; close it first."
        if self.notify_first():
            return (f"{APP_NAME} is already running on this workspace{owner}; "
                    "switched to that window.")
        return (f"{APP_NAME} is already open on this workspace{owner}, which could not be "
                "reached; close it first. This launch did not open the workspace.")

    def notify_first(self) -> bool:
        """Ask the running instance to show itself; retries while it is still starting."""
        from PySide6.QtNetwork import QLocalSocket
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
