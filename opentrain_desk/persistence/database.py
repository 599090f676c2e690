"""Engines, SQLite pragmas, Alembic migrations at start, and pre-migration backups."""
from __future__ import annotations

import logging
import os
import re
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
KEEP_BACKUPS = 10
#: How long a SQLite write waits for another program's lock before giving up (the app then
#: says the workspace is busy and retries by itself), and how long a connection to a
#: database server may take. Seconds; the environment variables override them.
BUSY_TIMEOUT_ENV, BUSY_TIMEOUT_S = "OPENTRAIN_DESK_BUSY_TIMEOUT", 5.0
CONNECT_TIMEOUT_ENV, CONNECT_TIMEOUT_S = "OPENTRAIN_DESK_CONNECT_TIMEOUT", 10.0


def _seconds(env: str, default: float) -> float:
    try:
        value = float(os.environ.get(env, default))
    except ValueError:
        log.warning("%s is not a number of seconds; using %s", env, default)
        return default
    return value if value > 0 else default


def busy_timeout() -> float:
    return _seconds(BUSY_TIMEOUT_ENV, BUSY_TIMEOUT_S)


def connect_timeout() -> float:
    return _seconds(CONNECT_TIMEOUT_ENV, CONNECT_TIMEOUT_S)


def create_engine(url: str | sa.URL, read_only: bool = False) -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout; server
    databases a connect timeout (libpq counts whole seconds, at least 2).

    ``read_only`` (SQLite): the file is opened with ``mode=ro`` (``immutable`` as well when
    its folder cannot be written either: SQLite could not create the WAL index there)."""
    url = sa.engine.make_url(url)
    if url.get_backend_name() == "sqlite":
        wait = busy_timeout()
        args = {"check_same_thread": False, "timeout": wait}
        if read_only and url.database not in (None, "", ":memory:"):
            url = _read_only_url(url)
        engine = sa.create_engine(url, connect_args=args)
        sa.event.listen(engine, "connect",
                        lambda conn, _rec: _sqlite_pragmas(conn, wait, read_only))
        return engine
    # TCP keepalives: a server that vanishes without closing the connection (network
    # gone, VPN dropped) is noticed in about a minute instead of never.
    args = {"connect_timeout": max(2, round(connect_timeout())), "keepalives": 1,
            "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=args)


def _read_only_url(url: sa.URL) -> sa.URL:
    path = Path(url.database).resolve()
    query = {"mode": "ro", "uri": "true"}
    if not os.access(path.parent, os.W_OK):
        query["immutable"] = "1"
    return url.set(database=path.as_uri(), query=query)


def _sqlite_pragmas(dbapi_conn, busy_s: float = BUSY_TIMEOUT_S, read_only: bool = False
                    ) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_s * 1000)}")
    if not read_only and cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


from .revision import HEAD_REVISION  # noqa: E402 - re-exported: the newest migration


def _alembic_config(connection: sa.Connection):
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def known_revisions() -> set[str]:
    """Every schema revision this version's migrations know (it can open or upgrade them)."""
    from alembic.script import ScriptDirectory
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


class WorkspaceTooNew(Exception):
    """The workspace's schema revision is unknown here: a newer version wrote it
    (``written_by``: that version's name, when it recorded it)."""

    def __init__(self, revision: str, written_by: str | None = None) -> None:
        super().__init__(f"schema revision {revision} is newer than {HEAD_REVISION}")
        self.revision, self.written_by = revision, written_by


#: ``workspace_settings`` key naming the app version that last upgraded the schema, so a
#: version too old to open the workspace can say which one it needs.
WRITTEN_BY_KEY = "schema_written_by"


def _record_writer(conn: sa.Connection) -> None:
    from .. import __version__
    params = {"key": WRITTEN_BY_KEY, "value": __version__}
    conn.execute(sa.text("DELETE FROM workspace_settings WHERE key = :key"), params)
    conn.execute(sa.text("INSERT INTO workspace_settings (key, value) VALUES (:key, :value)"),
                 params)


def written_by(engine: sa.Engine) -> str | None:
    """The version recorded by :func:`migrate`, if any (never raises)."""
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("SELECT value FROM workspace_settings WHERE key = :key"),
                               {"key": WRITTEN_BY_KEY})
    except sa.exc.SQLAlchemyError:
        return None


def check_revision(current: str | None, engine: sa.Engine | None = None) -> None:
    """Raise :class:`WorkspaceTooNew` unless this version can open ``current`` (naming the
    version that wrote it when ``engine``'s workspace recorded one)."""
    if current is not None and current != HEAD_REVISION and current not in known_revisions():
        raise WorkspaceTooNew(current, written_by(engine) if engine is not None else None)


def current_revision(engine: sa.Engine) -> str | None:
    """The schema's Alembic revision (None for an empty database), read with plain SQL."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


def migrate(engine: sa.Engine, backup_dir: Path | None = None) -> Path | None:
    """Bring the schema to head; back up an existing SQLite file first.

    Returns the backup's path when one was made. A workspace written by a newer version
    raises :class:`WorkspaceTooNew` before anything is written (no backup, no pruning).
    """
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return None
    check_revision(current, engine)
    from alembic import command
    backup = None
    if current is not None and backup_dir is not None:
        backup = backup_sqlite(engine, backup_dir, reason=f"pre-migrate-{current}")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
        _record_writer(conn)
        from .live import install_notify_triggers
        install_notify_triggers(conn)  # PostgreSQL: live updates for the other seats
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


def backup_revision(path: Path) -> str | None:
    """The schema revision inside a backup file (read-only), or None when it has none."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    side = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    existed = [p.exists() for p in side]
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:  # reading a WAL-mode file leaves -wal/-shm beside it
        for side_file, was_there in zip(side, existed, strict=True):
            if not was_there:
                side_file.unlink(missing_ok=True)
    return row[0] if row else None


def newest_openable(backups: list[Path]) -> Path | None:
    """The newest of ``backups`` (oldest first) whose schema this version knows."""
    known = known_revisions()
    return next((b for b in reversed(backups) if backup_revision(b) in known), None)


def _prune(backup_dir: Path, stem: str) -> None:
    """Keep the newest ``KEEP_BACKUPS``, and always the newest one this version can open
    (even when ten newer ones came from a newer version)."""
    backups = list_backups(backup_dir, stem)
    old = backups[:-KEEP_BACKUPS]
    if not old:
        return
    keep = newest_openable(backups)
    for path in old:
        if path != keep:
            path.unlink(missing_ok=True)
