"""Round trips through the real migrations on SQLite files and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from opentrain_desk.domain.errors import (ArchiveRefused, IllegalTransition, NotFound,
                                          ValidationError)
from opentrain_desk.domain.milestones import Action, MilestoneDraft, MilestoneStatus
from opentrain_desk.domain.money import Money
from opentrain_desk.persistence import database
from opentrain_desk.persistence.orm import metadata
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.services import jobs as services
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory


@pytest.fixture
def factory(migrated_db_url):
    engine = database.create_engine(migrated_db_url)
    database.migrate(engine)
    yield UnitOfWorkFactory(engine, actor="owner@agency")
    engine.dispose()


def draft(title="Batch 1", amount="1,250.00", due=None):
    return MilestoneDraft(title, Money.parse(amount), "Deliver 500 items", due)


def test_migrations_create_exactly_the_mapped_schema(db_url):
    engine = database.create_engine(db_url)
    assert database.current_revision(engine) is None
    database.migrate(engine)
    assert database.current_revision(engine) == database.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    engine.dispose()


def test_fast_path_head_is_alembics_head(tmp_path):
    """Opening an up-to-date workspace skips Alembic: its idea of head must be the real one,
    and an older schema still migrates (after a backup)."""
    from alembic import command
    assert database.HEAD_REVISION == database.head_revision()
    engine = database.create_engine(f"sqlite:///{(tmp_path / 'w.sqlite').as_posix()}")
    assert database.migrate(engine, tmp_path / "backups") is None  # new: nothing to back up
    assert database.migrate(engine, tmp_path / "backups") is None  # at head: fast path
    with engine.begin() as conn:
        command.downgrade(database._alembic_config(conn), "0004")
    assert database.current_revision(engine) == "0004"
    backup = database.migrate(engine, tmp_path / "backups")
    assert backup is not None and backup.exists() and "0004" in backup.name
    assert database.current_revision(engine) == database.HEAD_REVISION
    engine.dispose()


def test_round_trip_of_the_whole_model(factory):
    job_id = services.create_job(factory(), "  Code review RLHF  ", "Python")
    hired = services.hire_trainer(factory(), job_id, "Zoë Müller", "Zoe@Example.com",
                                  draft(due=date(2027, 2, 3)))
    second = services.add_milestone(factory(), hired.contract_id, draft("Batch 2", "99.99"))
    with factory() as uow:
        job = uow.jobs.get(job_id)
        first = uow.milestones.get(hired.milestone_id)
        trainer = uow.trainers.get(hired.trainer_id)
        assert job.title == "Code review RLHF" and not job.archived
        assert trainer.name == "Zoë Müller" and trainer.email == "zoe@example.com"
        assert (first.amount_cents, first.due_date, first.status) == (
            125000, date(2027, 2, 3), MilestoneStatus.NOT_FUNDED)
        assert first.created_at.tzinfo is not None
        assert uow.milestones.get(second).position == 2
    rows = Queries(factory.engine).milestone_page(hired.contract_id)
    assert [(r.title, r.amount_cents) for r in rows] == [("Batch 1", 125000), ("Batch 2", 9999)]


def test_every_change_is_audited_in_the_same_transaction(factory):
    job_id = services.create_job(factory(), "Job")
    hired = services.hire_trainer(factory(), job_id, "Ana", "ana@example.com", draft())
    services.edit_milestone(factory(), hired.milestone_id, draft("Renamed", "10"))
    with factory() as uow:
        entries = uow.audit_log.for_entity("milestone", hired.milestone_id)
    assert [e.action for e in entries] == ["created", "edited"]
    edited = entries[-1]
    assert edited.actor == "owner@agency"
    assert json.loads(edited.before)["amount_cents"] == 125000
    assert json.loads(edited.after)["title"] == "Renamed"


def test_failed_action_changes_nothing_and_audits_nothing(factory):
    job_id = services.create_job(factory(), "Job")
    hired = services.hire_trainer(factory(), job_id, "Ana", "ana@example.com", draft())
    with pytest.raises(IllegalTransition):
        services.request_changes(factory(), hired.milestone_id, "fix it")
    with pytest.raises(ValidationError, match="already hired"):
        services.hire_trainer(factory(), job_id, "Ana", "ana@example.com", draft())
    with factory() as uow:
        assert uow.milestones.get(hired.milestone_id).status is MilestoneStatus.NOT_FUNDED
        assert [e.action for e in uow.audit_log.for_entity("milestone",
                                                           hired.milestone_id)] == ["created"]
        assert len(uow.contracts.for_job(job_id)) == 1


def test_submission_and_request_changes(factory):
    job_id = services.create_job(factory(), "Job")
    hired = services.hire_trainer(factory(), job_id, "Ana", "ana@example.com", draft())
    with factory() as uow:  # funding arrives with the Stripe capability; walk the table here
        m = uow.milestones.get(hired.milestone_id)
        m.apply(Action.START_FUNDING, uow.now)
        m.apply(Action.FUNDING_SUCCEEDED, uow.now)
        uow.commit()
    services.record_submission(factory(), hired.milestone_id, "done", "https://x.test/d")
    services.request_changes(factory(), hired.milestone_id, "Rows 3-9 need sources")
    with factory() as uow:
        m = uow.milestones.get(hired.milestone_id)
        assert m.status is MilestoneStatus.ACTIVE_FUNDED
        assert m.status_note == "Rows 3-9 need sources"
        assert m.deliverable_url == "https://x.test/d"


def test_delete_and_archive_rules(factory):
    job_id = services.create_job(factory(), "Job")
    hired = services.hire_trainer(factory(), job_id, "Ana", "ana@example.com", draft())
    with pytest.raises(ArchiveRefused, match="Batch 1 — Not Funded"):
        services.archive_job(factory(), job_id)
    services.delete_milestone(factory(), hired.milestone_id)
    with pytest.raises(NotFound):
        services.delete_milestone(factory(), hired.milestone_id)
    services.archive_job(factory(), job_id)
    queries = Queries(factory.engine)
    assert queries.count_jobs(include_archived=False) == 0
    assert queries.job(job_id).archived
    with pytest.raises(ValidationError, match="archived"):
        services.hire_trainer(factory(), job_id, "Bo", "bo@example.com", draft())


def test_job_search_and_paging(factory):
    for i in range(25):
        services.create_job(factory(), f"Job {i:02d}" + (" 100%_match" if i == 7 else ""))
    queries = Queries(factory.engine)
    assert queries.count_jobs("100%_") == 1  # LIKE wildcards are literal
    first = queries.list_jobs(limit=20)
    page = queries.list_jobs(after=first[-1], limit=10)  # keyset: the page after row 20
    assert len(page) == 5 and page[0].title == "Job 04"


def test_sqlite_file_gets_wal_foreign_keys_and_a_pre_migration_backup(tmp_path):
    url = f"sqlite:///{(tmp_path / 'w.sqlite').as_posix()}"
    engine = database.create_engine(url)
    with engine.begin() as conn:  # an older workspace: the first revision only
        from alembic import command
        command.upgrade(database._alembic_config(conn), "0001")
        conn.execute(sa.text("INSERT INTO jobs (title, description, archived, created_at) "
                             "VALUES ('Old job', '', 0, '2026-01-01 00:00:00')"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    backup = database.backup_sqlite(engine, tmp_path / "backups", reason="test")
    check = sa.create_engine(f"sqlite:///{backup.as_posix()}")
    with check.connect() as conn:
        assert conn.exec_driver_sql("SELECT title FROM jobs").scalar() == "Old job"
    check.dispose()
    engine.dispose()


def test_backups_keep_only_the_newest(tmp_path, monkeypatch):
    url = f"sqlite:///{(tmp_path / 'w.sqlite').as_posix()}"
    engine = database.create_engine(url)
    database.migrate(engine)
    monkeypatch.setattr(database, "KEEP_BACKUPS", 3)
    made = [database.backup_sqlite(engine, tmp_path / "b", reason=f"r{i}") for i in range(5)]
    assert sorted(p.name for p in (tmp_path / "b").glob("*.sqlite")) == sorted(
        p.name for p in made[-3:])
    engine.dispose()


def test_a_broken_unique_key_leaves_the_unit_of_work_as_a_write_conflict(factory):
    """Services see the store's constraint errors as WriteConflict (no sqlalchemy), and
    nothing of the failed transaction is kept."""
    from opentrain_desk.services.unit_of_work import WriteConflict
    from opentrain_desk.services.workspace_settings import event_cursor_key
    with factory() as uow:
        uow.events.record("evt_1", "charge.refunded", 1, uow.now, "applied")
        uow.commit()
    with pytest.raises(WriteConflict), factory() as uow:
        uow.settings.set(event_cursor_key("test"), "evt_1")
        uow.events.record("evt_1", "charge.refunded", 1, uow.now, "applied again")
        uow.commit()
    with factory() as uow:
        assert uow.settings.get(event_cursor_key("test")) is None
