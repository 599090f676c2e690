"""Live updates for team workspaces: PostgreSQL LISTEN/NOTIFY.

Every table a screen shows gets AFTER INSERT/UPDATE/DELETE row triggers that send
``pg_notify('otd_changes', {"table", "id", "by", "schema"})`` (``by`` = the database
login, i.e. the member). :func:`install_notify_triggers` creates them with plain
``CREATE OR REPLACE`` / ``DROP TRIGGER IF EXISTS``: idempotent, so the open path, the
migration path and team provisioning may all call it. PostgreSQL folds identical payloads
sent in one transaction, and delivers them only when it commits.

:class:`PgChangeFeed` listens on its own connection (taken from the workspace's engine,
so it signs in exactly like the seat does, then detached from the pool) in its own thread,
and calls ``on_change(tables)`` with the set of tables a burst touched. After a lost
connection (server restart, ``pg_terminate_backend``) it reconnects with backoff and then
reports every table changed: whatever was sent while it was away is lost. SQLite
workspaces have no feed (:func:`change_feed` returns ``None``).
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Callable, Iterable

import sqlalchemy as sa

log = logging.getLogger(__name__)

CHANNEL = "otd_changes"
FUNCTION = "otd_notify_change"
#: The tables the screens show; a change to any of them is announced to the other seats.
WATCHED = ("jobs", "contracts", "milestones", "trainers", "stripe_operations",
           "notifications", "invoices", "outgoing_messages", "members",
           "workspace_settings")
#: Collect notifications arriving this close together into one report (seconds); one
#: transaction's arrive together at its commit, the UI coalesces longer bursts itself.
BURST_S = 0.005
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.5, 15.0
POLL_S = 0.5

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    rec jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := to_jsonb(OLD); ELSE rec := to_jsonb(NEW); END IF;
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'table', TG_TABLE_NAME, 'schema', TG_TABLE_SCHEMA,
        'id', COALESCE(rec->>'id', rec->>'key'), 'by', current_user)::text);
    RETURN NULL;
END $$
"""


def _trigger(table: str) -> str:
    return f"otd_notify_{table}"


def install_notify_triggers(engine_or_conn: sa.Engine | sa.Connection) -> bool:
    """Create (or replace) the notify function and one trigger per watched table in the
    current schema. PostgreSQL only (returns False elsewhere); needs the owner's rights."""
    if engine_or_conn.dialect.name != "postgresql":
        return False
    if isinstance(engine_or_conn, sa.Engine):
        with engine_or_conn.begin() as conn:
            return install_notify_triggers(conn)
    conn = engine_or_conn
    conn.execute(sa.text(_FUNCTION_SQL))
    present = set(sa.inspect(conn).get_table_names())
    for table in WATCHED:
        if table not in present:
            continue
        conn.execute(sa.text(f'DROP TRIGGER IF EXISTS {_trigger(table)} ON "{table}"'))
        conn.execute(sa.text(
            f'CREATE TRIGGER {_trigger(table)} AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"))
    return True


def triggers_installed(conn: sa.Connection) -> bool:
    """Every watched table has its trigger (cheap: one catalogue query)."""
    names = set(conn.scalars(sa.text(
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal")))
    return all(_trigger(table) in names for table in WATCHED)


def ensure_notify_triggers(engine: sa.Engine) -> bool:
    """At open: install the triggers when one is missing. A member without the rights to
    (team logins are not owners) only gets a warning in the log: the workspace still
    works, the other seats just refresh less eagerly until an Owner opens it."""
    if engine.dialect.name != "postgresql":
        return False
    try:
        with engine.connect() as conn:
            if triggers_installed(conn):
                return True
        return install_notify_triggers(engine)
    except sa.exc.DBAPIError as error:
        log.warning("live updates: cannot install the change triggers (%s)",
                    type(error.orig).__name__)
        return False


def parse(payload: str, schema: str | None = None) -> str | None:
    """The table a notification names, or None when it is not ours (another schema)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("table"), str):
        return None
    if schema is not None and data.get("schema") not in (None, schema):
        return None
    return data["table"]


class PgChangeFeed:
    """``services.ports.ChangeFeed`` for PostgreSQL: a listener thread with its own
    connection. ``on_change(tables)`` is called on that thread."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._on_change: Callable[[set[str]], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn = None
        self.connected = threading.Event()  # listening now (tests, benchmarks)
        self.schema: str | None = None
        self.backend_pid: int | None = None

    def start(self, on_change: Callable[[set[str]], None]) -> None:
        if self._thread is not None:
            return
        self._on_change = on_change
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="otd-live", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()  # the listener looks every POLL_S
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- the listener thread -------------------------------------------------------------
    def _connect(self):
        fairy = self.engine.raw_connection()  # signs in exactly like the seat's pool
        conn = fairy.driver_connection
        fairy.detach()
        conn.rollback()  # the pool's ping may have opened a transaction
        conn.autocommit = True
        self.schema, self.backend_pid = conn.execute(
            "SELECT current_schema(), pg_backend_pid()").fetchone()
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _run(self) -> None:
        delay, first = RECONNECT_MIN_S, True
        while not self._stop.is_set():
            try:
                self._conn = self._connect()
            except Exception as error:  # noqa: BLE001 - server down: try again later
                log.info("live updates: cannot connect (%s); retrying in %.1f s",
                         type(error).__name__, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay = RECONNECT_MIN_S
            self.connected.set()
            if not first:  # whatever was announced while away is lost: refresh everything
                self._emit(set(WATCHED))
            first = False
            try:
                self._listen(self._conn)
            except Exception as error:  # noqa: BLE001 - the connection dropped
                if not self._stop.is_set():
                    log.info("live updates: connection lost (%s); reconnecting",
                             type(error).__name__)
            finally:
                self.connected.clear()
                self._close()

    def _listen(self, conn) -> None:
        while not self._stop.is_set():
            tables: set[str] = set()
            for note in conn.notifies(timeout=POLL_S, stop_after=1):
                self._take(note, tables)
            if not tables:
                continue
            for note in conn.notifies(timeout=BURST_S):  # the rest of the burst
                self._take(note, tables)
            self._emit(tables)

    def _take(self, note, tables: set[str]) -> None:
        table = parse(note.payload, self.schema)
        if table is not None:
            tables.add(table)

    def _emit(self, tables: Iterable[str]) -> None:
        tables = set(tables)
        if tables and self._on_change is not None and not self._stop.is_set():
            try:
                self._on_change(tables)
            except Exception:  # noqa: BLE001 - a listener bug must not stop the feed
                log.exception("live updates: on_change failed")

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass


def change_feed(engine: sa.Engine) -> PgChangeFeed | None:
    """The feed for ``engine``'s workspace: PostgreSQL only (SQLite: None)."""
    return PgChangeFeed(engine) if engine.dialect.name == "postgresql" else None
