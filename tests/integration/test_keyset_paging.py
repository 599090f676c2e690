"""Lists page by keyset: rows inserted between two pages never show twice and no row that
was there is skipped (OFFSET paging showed a row twice when one was inserted above it).
SQLite and PostgreSQL."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.persistence import database
from opentrain_desk.persistence.read_side import SqlReadSide
from opentrain_desk.services import jobs as services
from opentrain_desk.services.notifications import notify
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory


@pytest.fixture
def books(migrated_db_url):
    engine = database.create_engine(migrated_db_url)
    database.migrate(engine)
    yield UnitOfWorkFactory(engine, actor="owner@agency"), SqlReadSide(engine)
    engine.dispose()


def read_all_with_inserts(page, key, insert, limit=3):
    """Read page by page, calling ``insert`` between pages; returns the keys seen."""
    seen, after = [], None
    while True:
        rows = page(after, limit)
        seen += [key(r) for r in rows]
        if len(rows) < limit:
            return seen
        after = rows[-1]
        insert()


def assert_each_once(seen, before):
    counts = Counter(seen)
    assert not [k for k, n in counts.items() if n > 1], "a row was shown twice"
    assert set(before) <= set(seen), "a row that was there was skipped"


def test_jobs(books):
    factory, read = books
    made_ids = [services.create_job(factory(), f"Job {i}") for i in range(8)]
    for job_id in made_ids[1::3]:  # archived ones sort after the open ones
        services.archive_job(factory(), job_id)
    before = [j.id for j in read.list_jobs(limit=100)]
    assert [j.archived for j in read.list_jobs(limit=100)] == [False] * 5 + [True] * 3
    made = iter(range(100))
    seen = read_all_with_inserts(
        lambda after, limit: read.list_jobs(after=after, limit=limit), lambda j: j.id,
        lambda: services.create_job(factory(), f"New {next(made)}"))  # newest: on top
    assert_each_once(seen, before)
    assert seen == before  # the new ones sort above what was already read


def test_milestones(books):
    factory, read = books
    job = services.create_job(factory(), "Job")
    contract = services.hire_trainer(factory(), job, "Ana", "ana@example.com",
                                     MilestoneDraft("M0", Money.parse("1.00"))).contract_id
    for i in range(1, 8):
        services.add_milestone(factory(), contract, MilestoneDraft(f"M{i}", Money.parse("1.00")))
    before = [m.id for m in read.milestone_page(contract, limit=100)]
    seen = read_all_with_inserts(
        lambda after, limit: read.milestone_page(contract, after, limit), lambda m: m.id,
        lambda: services.add_milestone(factory(), contract,
                                       MilestoneDraft("Late", Money.parse("1.00"))))
    assert_each_once(seen, before)
    assert seen[:len(before)] == before  # appended ones come after, each once


def test_notifications(books):
    factory, read = books

    def add(title):
        with factory() as uow:
            notify(uow, "paid out", title)
            uow.commit()

    for i in range(8):
        add(f"N{i}")
    before = [n.id for n in read.notifications_page(limit=100)]
    seen = read_all_with_inserts(read.notifications_page, lambda n: n.id,
                                 lambda: add("arrived while reading"))
    assert_each_once(seen, before)
    assert seen == before


def test_payment_history_with_ties(books):
    """Ordered by (approval else funding time, id), both descending: rows with the same
    time are told apart by id, and a row funded meanwhile (newest) is not re-read."""
    factory, read = books
    from sqlalchemy import update

    from opentrain_desk.persistence.orm import milestones
    job = services.create_job(factory(), "Job")
    contract = services.hire_trainer(factory(), job, "Ana", "ana@example.com",
                                     MilestoneDraft("M0", Money.parse("1.00"))).contract_id
    ids = [services.add_milestone(factory(), contract,
                                  MilestoneDraft(f"M{i}", Money.parse("1.00")))
           for i in range(1, 9)]
    base = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    engine = read.engine
    with engine.begin() as conn:  # four pairs of milestones funded at the same instant
        for n, m_id in enumerate(ids):
            conn.execute(update(milestones).where(milestones.c.id == m_id)
                         .values(funded_at=base + timedelta(hours=n // 2)))
    before = [r.milestone_id for r in read.payment_history(limit=100)]
    assert len(before) == 8
    extra = iter(range(100))

    def fund_another():
        m_id = services.add_milestone(factory(), contract,
                                      MilestoneDraft(f"X{next(extra)}", Money.parse("1.00")))
        with engine.begin() as conn:
            conn.execute(update(milestones).where(milestones.c.id == m_id)
                         .values(funded_at=base + timedelta(days=1)))

    seen = read_all_with_inserts(
        lambda after, limit: read.payment_history(after=after, limit=limit),
        lambda r: r.milestone_id, fund_another)
    assert_each_once(seen, before)
    assert seen == before
