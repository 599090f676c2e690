"""Automatic SQLite backups (daily, newest N kept) and restoring one of them.

Backups are made by :func:`opentrain_desk.persistence.database.backup_sqlite` (SQLite's
online backup API: consistent even while the app writes, WAL included) into
``<home>/backups/<workspace>-<UTC stamp>-<reason>.sqlite``; it keeps the newest
``KEEP_BACKUPS``. Migrations back up first (``pre-migrate-…``); :func:`daily_backup`
adds one per day; :func:`restore` makes a ``pre-restore`` copy before it replaces anything,
so a restore can itself be undone. A workspace file that is damaged or empty cannot be
copied that way: it is moved aside unchanged instead (``<name>.damaged-<UTC stamp>`` beside
it, with its ``-wal``), never deleted.
"""
from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from ..persistence.database import (KEEP_BACKUPS, backup_sqlite, backup_time, list_backups,
                                    sqlite_path)

__all__ = ["BACKUP_INTERVAL", "KEEP_BACKUPS", "RestoreError", "check_restorable",
           "daily_backup", "list_backups", "newest_backup", "no_side_files", "restore"]

log = logging.getLogger(__name__)
BACKUP_INTERVAL = timedelta(hours=24)


class RestoreError(Exception):
    """The backup cannot be restored; the message says why (nothing was changed)."""


def newest_backup(backup_dir: Path, stem: str) -> tuple[Path, datetime] | None:
    backups = list_backups(backup_dir, stem)
    return (backups[-1], backup_time(backups[-1], stem)) if backups else None


def daily_backup(engine: sa.Engine, backup_dir: Path, now: datetime | None = None,
                 interval: timedelta = BACKUP_INTERVAL) -> Path | None:
    """Back up a SQLite workspace if its newest backup is older than ``interval``.

    Returns the new backup, or None (not SQLite, no file yet, or a recent backup exists).
    """
    source = sqlite_path(engine)
    if source is None or not source.exists():
        return None
    now = now or datetime.now(timezone.utc)
    newest = newest_backup(backup_dir, source.stem)
    if newest is not None and now - newest[1] < interval:
        return None
    target = backup_sqlite(engine, backup_dir, reason="daily")
    log.info("daily backup written: %s", target)
    return target


# --------------------------------------------------------------------------- restore


@contextmanager
def no_side_files(database: Path):
    """Reading a WAL-mode file, even read-only, leaves -wal/-shm beside it: tidy them."""
    side = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
    existed = {path: path.exists() for path in side}
    try:
        yield
    finally:
        for path, was_there in existed.items():
            if not was_there:
                path.unlink(missing_ok=True)


def _check_backup(backup: Path) -> str:
    """Open the backup read-only; returns its schema revision or raises RestoreError."""
    if not backup.is_file():
        raise RestoreError(f"There is no backup file at {backup}.")
    uri = f"{backup.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise RestoreError(f"{backup.name} is damaged (integrity check failed).")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise RestoreError(f"{backup.name} is not an OpenTrain Desk workspace backup "
                           f"({error}).") from None
    if row is None:
        raise RestoreError(f"{backup.name} has no schema version; it is not a workspace.")
    return row[0]


def _check_revision(revision: str) -> None:
    from alembic.script import ScriptDirectory

    from ..persistence.database import MIGRATIONS
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if revision not in known:
        raise RestoreError(f"The backup was made by a newer version of OpenTrain Desk "
                           f"(schema {revision}); update the app first.")


def check_restorable(backup: Path) -> str:
    """Raise :class:`RestoreError` unless ``backup`` passes the integrity check and this
    version knows its schema; returns the schema revision. Leaves no side files."""
    with no_side_files(backup):
        revision = _check_backup(backup)
    _check_revision(revision)
    return revision


def _healthy(workspace: Path) -> bool:
    if workspace.stat().st_size == 0:
        return False
    try:
        with no_side_files(workspace):
            _check_backup(workspace)
    except RestoreError:
        return False
    return True


def _set_aside(workspace: Path) -> Path:
    """Move a damaged workspace (and its -wal) aside, unchanged, beside itself."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = workspace.with_name(f"{workspace.name}.damaged-{stamp}")
    for suffix in ("-wal", "-shm"):
        side = workspace.with_name(workspace.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    os.replace(workspace, aside)
    return aside


def _checkpoint_and_close(target: Path) -> None:
    """Fold the live WAL into the file so no stale -wal/-shm is left next to the new one."""
    with closing(sqlite3.connect(target)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)


def _copy_consistent(backup: Path, tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    uri = f"{backup.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as src, closing(sqlite3.connect(tmp)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())


def _engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path.as_posix()}")  # only its URL is used


def restore(backup_path: Path, workspace_path: Path,
            backup_dir: Path | None = None) -> Path | None:
    """Replace the SQLite workspace file with a backup; the caller holds the workspace lock.

    The current workspace (if any) is first backed up as ``pre-restore`` into
    ``backup_dir`` (default: the backup's own folder), or moved aside unchanged when it is
    damaged or empty. Returns that safety copy's path.
    Older schemas are fine: the app migrates the restored file when it next opens it.
    """
    backup_path, workspace_path = Path(backup_path), Path(workspace_path)
    if backup_path.resolve() == workspace_path.resolve():
        raise RestoreError("The backup and the workspace are the same file.")
    check_restorable(backup_path)
    workspace_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = workspace_path.with_name(f".{workspace_path.name}.restore.tmp")
    try:
        with no_side_files(backup_path):  # first: the safety copy may prune old backups
            _copy_consistent(backup_path, tmp)
        safety = None
        if workspace_path.exists() and not _healthy(workspace_path):
            safety = _set_aside(workspace_path)
        elif workspace_path.exists():
            safety = backup_sqlite(_engine(workspace_path), backup_dir or backup_path.parent,
                                   reason="pre-restore")
            _checkpoint_and_close(workspace_path)
        os.replace(tmp, workspace_path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("restored %s from %s (previous state saved as %s)", workspace_path,
             backup_path, safety)
    return safety
