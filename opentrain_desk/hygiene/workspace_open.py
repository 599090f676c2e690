"""Opening a workspace safely: check before touching, refuse clearly, never lose a backup.

``preflight(settings)`` runs before Qt and before any lock or folder is created: the
``--db`` URL must name a supported, installed database (case: ``--db notaurl``), and an
explicitly given SQLite file must sit in an existing folder (a mistyped path is an error,
not a new empty workspace).

``open_database(settings)`` then, for a SQLite file, refuses a zero-byte or damaged file
(``PRAGMA quick_check`` on a read-only connection, the file left untouched) and offers the
newest backup that passes the same check; opens a file it may not write read-only; and
migrates, which refuses a workspace written by a newer version before writing any backup.
Every failure it understands becomes a :class:`~.faults.Problem`; the rest propagate to the
crash report.
"""
from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from ..config import Settings
from ..persistence import database
from . import faults

__all__ = ["check_url", "good_backups", "inspect_sqlite", "open_database", "preflight",
           "sqlite_file"]

log = logging.getLogger(__name__)


def check_url(raw: str) -> sa.URL:
    """The parsed URL, or a :class:`Problem` saying what a valid one looks like."""
    try:
        url = sa.engine.make_url(raw)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        raise faults.bad_url(raw, "it is not a database URL") from None
    backend = url.get_backend_name()
    if backend not in faults.SUPPORTED:
        raise faults.bad_url(raw, f"“{backend}” databases are not supported (OpenTrain Desk "
                                  "keeps workspaces in SQLite files or on PostgreSQL servers)")
    try:
        url.get_dialect().import_dbapi()
    except (sa.exc.NoSuchModuleError, ImportError):
        raise faults.bad_url(raw, f"its database driver “{url.drivername}” is not installed "
                                  "(for PostgreSQL use postgresql+psycopg://…)") from None
    if backend == "sqlite" and url.database in (None, ""):
        raise faults.bad_url(raw, "it names no workspace file")
    return url


def sqlite_file(url: sa.URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):
        return None  # an SQLite URI: the caller knows what it does
    return Path(url.database).expanduser().absolute()


def preflight(settings: Settings) -> sa.URL:
    """Cases that need no database connection: a bad URL, a missing folder."""
    url = check_url(settings.database_url)
    path = sqlite_file(url)
    if path is not None and settings.db_url:  # an explicit --db; the default folder is ours
        if path.is_dir():
            raise faults.not_a_file(path)
        if not path.parent.is_dir():
            raise faults.missing_folder(path)
    return url


# -- damaged and empty files -------------------------------------------------------------

def good_backups(settings: Settings, path: Path) -> tuple[list[tuple[Path, datetime]],
                                                          Path | None]:
    """This workspace's backups (newest first, with their times) and the newest one that
    passes the integrity check and that this version can open."""
    from .backups import RestoreError, check_restorable
    stem = path.stem
    found = [(p, database.backup_time(p, stem))
             for p in reversed(database.list_backups(settings.backup_dir, stem))]
    for candidate, _when in found:
        try:
            check_restorable(candidate)
        except RestoreError as error:
            log.warning("backup %s cannot be restored: %s", candidate, error)
            continue
        return found, candidate
    return found, None


def _reason(error: sqlite3.Error) -> str:
    code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
    if code == sqlite3.SQLITE_NOTADB:
        return "it is not a database file, or its first page was overwritten"
    return "parts of it cannot be read"


def _check_uri(path: Path) -> str:
    immutable = "" if faults.writable(path.parent) else "&immutable=1"
    return f"{path.resolve().as_uri()}?mode=ro{immutable}"


def inspect_sqlite(settings: Settings, path: Path) -> None:
    """Refuse an empty or damaged workspace file without changing it."""
    from .backups import no_side_files
    if not path.exists():
        return
    if path.stat().st_size == 0:
        raise faults.damaged(path, "empty", *good_backups(settings, path))
    try:
        with no_side_files(path), closing(sqlite3.connect(
                _check_uri(path), uri=True, timeout=database.busy_timeout())) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as error:
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            from .lockinfo import lock_holders
            raise faults.busy(str(path), ", ".join(lock_holders(path)) or None) from error
        if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY):
            raise faults.no_permission(path) from error
        log.error("workspace %s failed its check", path, exc_info=error)
        raise faults.damaged(path, _reason(error), *good_backups(settings, path)) from error
    if rows != [("ok",)]:
        log.error("workspace %s failed quick_check: %s", path, rows[:20])
        raise faults.damaged(path, "the integrity check found errors",
                             *good_backups(settings, path))


# -- opening -----------------------------------------------------------------------------

def _read_only(path: Path) -> bool:
    """A file (or a WAL file in a folder) this user may not write: open it read-only."""
    if not path.exists():
        return False
    if not faults.writable(path):
        return True
    side = path.with_name(path.name + "-shm")
    return not faults.writable(path.parent) and not (side.exists() and faults.writable(side))


def _migrate_or_check(engine: sa.Engine, settings: Settings, read_only: bool,
                      path: Path | None) -> None:
    if not read_only:
        database.migrate(engine, settings.backup_dir)
        return
    current = database.current_revision(engine)
    database.check_revision(current, engine)
    if current != database.HEAD_REVISION:
        raise faults.no_permission(path, "upgrade")


def open_database(settings: Settings,
                  password: str | None = None) -> tuple[sa.Engine, bool]:
    """The workspace's engine, migrated, and whether it is open read-only. ``password``:
    a signed-in team member's (only in the engine's URL, in memory)."""
    url = preflight(settings)
    path = sqlite_file(url)
    where = str(path) if path is not None else faults.safe_url(url)
    read_only = False
    if path is not None:
        inspect_sqlite(settings, path)
        read_only = _read_only(path)
        if not path.exists() and not faults.writable(path.parent):
            raise faults.no_permission(path, "create")
    engine = database.create_engine(url if password is None else url.set(password=password),
                                    read_only=read_only)
    try:
        _migrate_or_check(engine, settings, read_only, path)
    except Exception as exc:
        engine.dispose()
        problem = faults.classify(exc, where=where, url=url, path=path)
        if problem is None:
            raise
        raise problem from exc
    if read_only:
        log.warning("workspace %s opened read-only (no permission to write it)", where)
    return engine, read_only
