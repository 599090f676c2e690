"""Engines, SQLite pragmas, Alembic migrations at start, and pre-migration backups."""
from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
KEEP_BACKUPS = 10


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: The newest migration. Checked against Alembic's scripts by a test; lets a workspace that
#: is already up to date open without importing Alembic at all (~200 ms of start-up).
HEAD_REVISION = "0007"


def _alembic_config(connection: sa.Connection):
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """The schema's Alembic revision (None for an empty database), read with plain SQL."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


def migrate(engine: sa.Engine, backup_dir: Path | None = None) -> Path | None:
    """Bring the schema to head; back up an existing SQLite file first.

    Returns the backup's path when one was made.
    """
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return None
    from alembic import command
    backup = None
    if current is not None and backup_dir is not None:
        backup = backup_sqlite(engine, backup_dir, reason=f"pre-migrate-{current}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    log.info("database migrated from %s to %s", current, head_revision())
    return backup


def sqlite_path(engine: sa.Engine) -> Path | None:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return Path(database) if database and database != ":memory:" else None


def backup_sqlite(engine: sa.Engine, backup_dir: Path, reason: str) -> Path | None:
    """Consistent online copy (sqlite backup API, WAL-safe); keeps the newest N."""
    source = sqlite_path(engine)
    if source is None or not source.exists():
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = backup_dir / f"{source.stem}-{stamp}-{reason}.sqlite"
    tmp = target.with_suffix(".tmp")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(tmp)) as dst:
        src.backup(dst)
    tmp.replace(target)
    _prune(backup_dir, source.stem)
    return target


def backup_time(path: Path, stem: str) -> datetime | None:
    """The UTC time in ``<stem>-<stamp>-<reason>.sqlite``; None for other workspaces' files
    (``demo-…`` is not ``demo-sandbox-…``)."""
    if not path.name.startswith(f"{stem}-"):
        return None
    match = _BACKUP_STAMP.fullmatch(path.name[len(stem):])
    if match is None:
        return None
    return datetime.strptime(match.group(1)[:15], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)


def list_backups(backup_dir: Path, stem: str) -> list[Path]:
    """This workspace's backups, oldest first."""
    if not backup_dir.is_dir():
        return []
    found = [(stamp, path) for path in backup_dir.glob(f"{stem}-*.sqlite")
             if (stamp := backup_time(path, stem)) is not None]
    return [path for _stamp, path in sorted(found)]


_BACKUP_STAMP = re.compile(r"-(\d{8}T\d{6}\d*Z)-[^/\\]*\.sqlite$")


def _prune(backup_dir: Path, stem: str) -> None:
    for old in list_backups(backup_dir, stem)[:-KEEP_BACKUPS]:
        old.unlink(missing_ok=True)
