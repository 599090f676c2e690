"""The first page of jobs read before SQLAlchemy loads (``persistence.first_page``) is the
page the real read side gives, and anything else waits for the real read side."""
from __future__ import annotations

import random
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.persistence import database
from opentrain_desk.persistence.first_page import FirstPageReader
from opentrain_desk.persistence.orm import contracts, jobs, milestones, trainers
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.sandbox.demo import seed_demo


def path_of(factory) -> Path:
    return Path(factory.engine.url.database)


def closed(factory) -> Path:
    """The workspace as the app leaves it on exit: every connection closed (no -wal)."""
    factory.engine.dispose()
    return path_of(factory)


def same_first_page(factory, limits=(1, 2, 3, 200)) -> None:
    reader = FirstPageReader(closed(factory))
    early = ([reader.count_jobs("", False)]
             + [reader.list_jobs("", False, None, limit) for limit in limits])
    assert reader._early_ok and not reader.deferred.is_set()  # read early, nothing waited
    real = Queries(factory.engine)
    assert early == ([real.count_jobs("", False)]
                     + [real.list_jobs("", False, None, limit) for limit in limits])


def test_the_demo_workspace_first_page_is_the_real_one(factory):
    seed_demo(factory)
    same_first_page(factory)
    assert len(FirstPageReader(closed(factory)).list_jobs("", False, None, 200)) == 4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_workspaces_give_the_real_first_page(factory, seed):
    """Archived and open jobs, jobs without contracts, contracts without milestones, and
    every milestone state with every payout state (the open count follows the domain)."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)
    n_jobs = rng.randrange(5, 40)
    with factory.engine.begin() as conn:
        conn.execute(jobs.insert(), [
            dict(id=j, title=f"Job {j} — Zoë", description="", archived=rng.random() < 0.3,
                 created_at=now + timedelta(minutes=j), version=rng.randrange(1, 5))
            for j in range(1, n_jobs + 1)])
        conn.execute(trainers.insert(), [dict(id=t, name=f"T{t}", email=f"t{t}@x.example",
                                              created_at=now) for t in range(1, 60)])
        contract_rows, milestone_rows = [], []
        for c in range(1, rng.randrange(10, 60)):
            contract_rows.append(dict(id=c, job_id=rng.randrange(1, n_jobs + 1),
                                      trainer_id=c, hired_on=now.date(), created_at=now))
            for p in range(1, rng.randrange(0, 6)):
                milestone_rows.append(dict(
                    contract_id=c, position=p, title=f"M{p}", description="",
                    amount_cents=rng.randrange(100, 10**6), due_date=None,
                    status=rng.choice(list(MilestoneStatus)),
                    payout_status=rng.choice(list(PayoutStatus)), status_note="",
                    submission_note="", deliverable_url="", created_at=now, updated_at=now))
        conn.execute(contracts.insert(), contract_rows)
        if milestone_rows:
            conn.execute(milestones.insert(), milestone_rows)
    same_first_page(factory)


def test_an_empty_workspace_has_an_empty_first_page(factory):
    same_first_page(factory)
    assert FirstPageReader(closed(factory)).list_jobs("", False, None, 200) == []


def test_other_lists_wait_for_the_real_read_side_then_get_its_answer(factory):
    seed_demo(factory)
    reader = FirstPageReader(closed(factory))
    answers: dict = {}

    def search() -> None:  # as the database thread would, while the workspace opens
        answers["found"] = reader.list_jobs("Math", False, None, 200)
        answers["archived"] = reader.count_jobs("", True)
        answers["contracts"] = reader.job_contracts(1)
    worker = threading.Thread(target=search)
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and answers == {}  # waiting, not guessing
    real = Queries(factory.engine)
    reader.attach(real)
    worker.join(10)
    assert answers["found"] == real.list_jobs("Math", False, None, 200) != []
    assert answers["archived"] == real.count_jobs("", True)
    assert answers["contracts"] == real.job_contracts(1)
    # once attached, even the first page comes from the real read side
    assert reader.list_jobs("", False, None, 2) == real.list_jobs("", False, None, 2)


def test_a_workspace_that_does_not_open_releases_what_waits(factory):
    reader = FirstPageReader(path_of(factory))
    failures: list = []

    def search() -> None:
        try:
            reader.list_jobs("x", False, None, 10)
        except RuntimeError as error:
            failures.append(str(error))
    worker = threading.Thread(target=search)
    worker.start()
    reader.abandon()
    worker.join(10)
    assert failures == ["the workspace did not open"]


def _waits(reader: FirstPageReader) -> bool:
    """The first page is not read early: the call waits for the real read side."""
    done = threading.Event()

    def first_page() -> None:
        try:
            reader.list_jobs("", False, None, 5)
            done.set()
        except RuntimeError:  # abandoned below: the workspace "did not open"
            pass
    worker = threading.Thread(target=first_page, daemon=True)
    worker.start()
    worker.join(0.3)
    waited = not done.is_set() and reader.deferred.is_set()  # start-up stops waiting too
    reader.abandon()
    return waited


def copy(factory, target: Path) -> Path:
    with sqlite3.connect(path_of(factory)) as source, sqlite3.connect(target) as copied:
        source.backup(copied)
    return target


def test_files_that_cannot_be_read_early_wait_for_the_workspace(tmp_path, factory):
    seed_demo(factory)
    closed(factory)
    assert _waits(FirstPageReader(tmp_path / "missing.sqlite"))  # a new workspace
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"not a database" * 100)
    assert _waits(FirstPageReader(damaged))
    older = copy(factory, tmp_path / "older.sqlite")
    with sqlite3.connect(older) as db:  # written by an older version: to be migrated
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    assert _waits(FirstPageReader(older))
    newer = copy(factory, tmp_path / "newer.sqlite")
    with sqlite3.connect(newer) as db:  # written by a newer version: to be refused
        db.execute(f"UPDATE alembic_version SET version_num = '{database.HEAD_REVISION}9'")
    assert _waits(FirstPageReader(newer))
    # open in another program (its -wal beside it), or not closed cleanly: the opening
    # recovers it first
    writer = sqlite3.connect(path_of(factory), isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE jobs SET title = 'uncommitted'")
    try:
        assert path_of(factory).with_name("workspace.sqlite-wal").exists()
        assert _waits(FirstPageReader(path_of(factory)))
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_reading_early_leaves_nothing_beside_the_file(tmp_path, factory):
    seed_demo(factory)
    (tmp_path / "copy").mkdir()
    target = copy(factory, tmp_path / "copy" / "agency.sqlite")
    assert len(FirstPageReader(target).list_jobs("", False, None, 200)) == 4
    assert sorted(p.name for p in target.parent.iterdir()) == ["agency.sqlite"]
    data = bytearray(target.read_bytes())  # damaged pages: an error, no files either
    page = int.from_bytes(data[16:18], "big")
    for number in range(1, len(data) // page):
        data[number * page: (number + 1) * page] = bytes(page)
    target.write_bytes(bytes(data))
    assert _waits(FirstPageReader(target))
    assert sorted(p.name for p in target.parent.iterdir()) == ["agency.sqlite"]
