"""Move a solo workspace (an SQLite file) to a team server, then prove nothing was lost.

Everything is copied table by table in foreign-key order — jobs, trainers, contracts,
milestones, Stripe operations, invoices with their numbering counters, notifications,
messages, the audit log, settings, subscriptions, disputes and Stripe events — keeping
every id, then the server's id sequences are moved past the copied ids, so new rows
(and invoice numbers, from the copied counters) continue without a gap. ``members`` is not
copied: a solo workspace's Owner is an OS login, a team's members are database logins
(``team init`` / ``team add``).

The check compares the row count of every table and the money totals (sums of every
``amount_cents`` column, and each invoice series' last number) between the file and the
server. A target that already holds books is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ..services.workspace_settings import TEAM_ROLE_PREFIX
from . import database
from .orm import invoice_counters, metadata, workspace_settings

CHUNK = 500
NOT_COPIED = ("members",)
#: Settings that describe the database they live in, not the books.
LOCAL_SETTINGS = (database.WRITTEN_BY_KEY, TEAM_ROLE_PREFIX)


class MigrationRefused(Exception):
    """The move cannot start (the message says why); nothing was written."""


@dataclass(frozen=True)
class CheckLine:
    what: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def _tables() -> list[sa.Table]:
    return [t for t in metadata.sorted_tables if t.name not in NOT_COPIED]


def _has_books(conn) -> list[str]:
    """Tables of the target that already hold rows (settings and members aside)."""
    return [t.name for t in _tables() if t.name != "workspace_settings"
            and conn.scalar(sa.select(sa.func.count()).select_from(t))]


def migrate_solo(source_file: Path, target: sa.Engine) -> list[CheckLine]:
    """Copy the SQLite workspace ``source_file`` into ``target`` (PostgreSQL, migrated here
    when needed) and return the check; raises :class:`MigrationRefused` before writing."""
    if not source_file.is_file():
        raise MigrationRefused(f"There is no workspace file at {source_file}.")
    source = database.create_engine(f"sqlite:///{source_file.resolve().as_posix()}")
    try:
        revision = database.current_revision(source)
        if revision is None:
            raise MigrationRefused(f"{source_file} is not an OpenTrain Desk workspace.")
        database.migrate(source, backup_dir=source_file.parent / "backups")
        database.migrate(target)
        with target.begin() as conn:
            busy = _has_books(conn)
            if busy:
                raise MigrationRefused(
                    "The target already holds books (" + ", ".join(busy) + "): move a solo "
                    "workspace only into a new, empty one.")
            with source.connect() as src:
                for table in _tables():
                    _copy(src, conn, table)
            _advance_sequences(conn)
        with source.connect() as src, target.connect() as conn:
            return check(src, conn)
    finally:
        source.dispose()


def _copy(src, conn, table: sa.Table) -> None:
    rows = src.execute(table.select()).mappings()
    if table is workspace_settings:
        rows = [dict(row) for row in rows if row["key"] not in LOCAL_SETTINGS]
        for row in rows:
            conn.execute(table.delete().where(table.c.key == row["key"]))
        if rows:
            conn.execute(table.insert(), rows)
        return
    batch: list[dict] = []
    for row in rows:
        batch.append(dict(row))
        if len(batch) >= CHUNK:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _advance_sequences(conn) -> None:
    """Serial ids continue after the copied ones (PostgreSQL)."""
    for table in _tables():
        column = table.c.get("id")
        if column is None or not isinstance(column.type, sa.Integer):
            continue
        sequence = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"),
                               {"t": table.name})
        if sequence is None:
            continue
        top = conn.scalar(sa.select(sa.func.max(column)))
        conn.execute(sa.text("SELECT setval(:s, :v, :called)"),
                     {"s": sequence, "v": top or 1, "called": top is not None})


def check(src, conn) -> list[CheckLine]:
    """Counts per table, money totals per table and each invoice series' last number."""
    lines = []
    for table in _tables():
        count = sa.select(sa.func.count()).select_from(table)
        where = None
        if table is workspace_settings:
            where = table.c.key.not_in(LOCAL_SETTINGS)
            count = count.where(where)
        lines.append(CheckLine(f"{table.name}: rows", src.scalar(count) or 0,
                               conn.scalar(count) or 0))
        if "amount_cents" in table.c:
            total = sa.select(sa.func.coalesce(sa.func.sum(table.c.amount_cents), 0))
            lines.append(CheckLine(f"{table.name}: total amount (cents)",
                                   int(src.scalar(total)), int(conn.scalar(total))))
    for series, last in src.execute(sa.select(invoice_counters.c.series,
                                              invoice_counters.c.last_seq)):
        there = conn.scalar(sa.select(invoice_counters.c.last_seq).where(
            invoice_counters.c.series == series))
        lines.append(CheckLine(f"invoice series {series}: last number", last, there or 0))
    return lines
