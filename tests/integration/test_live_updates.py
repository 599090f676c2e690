"""Live updates between seats of a PostgreSQL workspace (LISTEN/NOTIFY): the triggers,
the listener thread, its reconnection after the server dropped it, and SQLite's no-op."""
from __future__ import annotations

import queue

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.persistence import database
from opentrain_desk.persistence.live import (WATCHED, change_feed, install_notify_triggers,
                                             triggers_installed)
from opentrain_desk.services import jobs
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg(postgres_url):
    engine = database.create_engine(postgres_url)
    database.migrate(engine)
    yield engine
    engine.dispose()


def _next(changes: queue.Queue, wanted: str, timeout: float = 10.0) -> set[str]:
    """The first report naming ``wanted`` (others before it are skipped)."""
    while True:
        tables = changes.get(timeout=timeout)
        if wanted in tables:
            return tables


def test_migration_installs_the_triggers_and_installing_again_changes_nothing(pg):
    with pg.connect() as conn:
        assert triggers_installed(conn)
    assert install_notify_triggers(pg) and install_notify_triggers(pg)
    with pg.connect() as conn:
        count = conn.scalar(sa.text(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND t.tgname LIKE 'otd_notify_%'"))
    assert count == len(WATCHED)


def test_another_seats_write_reaches_the_feed(pg):
    seat_a = UnitOfWorkFactory(database.create_engine(pg.url), "dana")
    feed = change_feed(pg)
    changes: queue.Queue = queue.Queue()
    feed.start(changes.put)
    try:
        assert feed.connected.wait(10)
        job_id = jobs.create_job(seat_a(), "Live job")
        assert "jobs" in _next(changes, "jobs")
        result = jobs.hire_trainer(seat_a(), job_id, "Ana", "ana@example.com",
                                   MilestoneDraft("M1", Money(10_000)))
        tables = _next(changes, "milestones")
        assert {"contracts", "milestones"} <= tables  # one transaction, one report
        jobs.edit_milestone(seat_a(), result.milestone_id,
                            MilestoneDraft("M1 renamed", Money(12_000)))
        assert "milestones" in _next(changes, "milestones")
    finally:
        feed.stop()
        seat_a.engine.dispose()


def test_the_feed_reconnects_after_the_server_dropped_it(pg):
    feed = change_feed(pg)
    changes: queue.Queue = queue.Queue()
    feed.start(changes.put)
    admin = sa.create_engine(ADMIN)
    try:
        assert feed.connected.wait(10)
        first_pid = feed.backend_pid
        with admin.connect() as conn:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"),
                               {"pid": first_pid})
        # back again: everything is reported changed (what was sent meanwhile is lost)
        assert set(WATCHED) <= _next(changes, "jobs")
        assert feed.backend_pid != first_pid
        jobs.create_job(UnitOfWorkFactory(pg, "dana")(), "After the drop")
        assert "jobs" in _next(changes, "jobs")
    finally:
        feed.stop()
        admin.dispose()


def test_a_solo_workspace_has_no_feed(factory):
    assert change_feed(factory.engine) is None
