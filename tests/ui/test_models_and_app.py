"""Models under qtmodeltester, lazy paging, remembered window state, demo and CLI."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone

import sqlalchemy as sa
from PySide6.QtWidgets import QTableView

from opentrain_desk import __version__
from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.persistence.orm import contracts, invoices, jobs, milestones, trainers
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.ui.models.tables import JobsModel, MilestoneColumn, MilestonesModel
from opentrain_desk.app import close_window
from tests.ui.conftest import find, idle, open_window


def bulk_contract(engine, n: int) -> int:
    """One job, one trainer, one contract with ``n`` milestones (fast, Core inserts)."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        job_id = conn.execute(jobs.insert().values(
            title="Big job", description="", archived=False,
            created_at=now)).inserted_primary_key[0]
        trainer_id = conn.execute(trainers.insert().values(
            name="Bulk Trainer", email="bulk@example.com", created_at=now)).inserted_primary_key[0]
        contract_id = conn.execute(contracts.insert().values(
            job_id=job_id, trainer_id=trainer_id, hired_on=now.date(),
            created_at=now)).inserted_primary_key[0]
        conn.execute(milestones.insert(), [dict(
            contract_id=contract_id, position=i, title=f"M{i:04d}", description="",
            amount_cents=100 + i, status=MilestoneStatus.NOT_FUNDED,
            payout_status="NOT_STARTED", status_note="", submission_note="",
            deliverable_url="", created_at=now, updated_at=now) for i in range(1, n + 1)])
    return contract_id


def test_models_pass_qtmodeltester(qtbot, qtmodeltester, window):
    contract_id = bulk_contract(window.ctx.uow.engine, 450)
    queries = window.ctx.read
    model = MilestonesModel(window.ctx.db)
    model.set_source(lambda: queries.count_milestones(contract_id),
                     lambda after, limit: queries.milestone_page(contract_id, after, limit))
    qtbot.waitUntil(lambda: model.rowCount() == model.PAGE_SIZE)
    qtmodeltester.check(model, force_py=True)
    idle(qtbot, window)  # the tester follows one model at a time: let its pages land
    jobs_model = JobsModel(window.ctx.db)
    jobs_model.set_source(queries.count_jobs, lambda after, limit: queries.list_jobs(
        after=after, limit=limit))
    qtbot.waitUntil(lambda: jobs_model.rowCount() == 1)
    qtmodeltester.check(jobs_model, force_py=True)


def test_large_timeline_loads_lazily_page_by_page(qtbot, window):
    contract_id = bulk_contract(window.ctx.uow.engine, 450)
    queries = window.ctx.read
    model = MilestonesModel(window.ctx.db)
    model.set_source(lambda: queries.count_milestones(contract_id),
                     lambda after, limit: queries.milestone_page(contract_id, after, limit))
    qtbot.waitUntil(lambda: model.rowCount() == 200)
    assert model.total == 450 and model.canFetchMore()
    model.fetchMore()
    assert not model.canFetchMore()  # one fetch at a time: no re-entrant insert
    model.fetchMore()  # ignored while the first is in flight
    qtbot.waitUntil(lambda: model.rowCount() == 400)
    model.fetchMore()
    qtbot.waitUntil(lambda: model.rowCount() == 450)
    assert not model.canFetchMore()
    titles = [model.index(r, MilestoneColumn.MILESTONE).data() for r in range(450)]
    assert titles == [f"M{i:04d}" for i in range(1, 451)]  # no gaps, no duplicates
    assert model.index(449, MilestoneColumn.AMOUNT).data() == "$5.50"


def test_selecting_a_job_shows_its_timeline(qtbot, window):
    bulk_contract(window.ctx.uow.engine, 3)
    window.jobs_page.reload()
    jobs_table = find(window, QTableView, "jobsTable")
    qtbot.waitUntil(lambda: jobs_table.model().rowCount() == 1)
    jobs_table.selectRow(0)
    qtbot.waitUntil(lambda: window.findChild(QTableView, "milestoneTable") is not None)
    table = window.findChild(QTableView, "milestoneTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 3)


def test_window_state_is_remembered(qtbot, qapp, settings):
    first = open_window(qtbot, settings)
    first.resize(700, 500)
    first.jobs_page.splitter.setSizes([330, 370])  # the list keeps >= 320 px
    first.close()
    close_window(first)
    second = open_window(qtbot, settings)
    assert (second.width(), second.height()) == (700, 500)
    assert second.jobs_page.splitter.sizes()[0] == 330
    close_window(second)


def assert_history_in_number_order(engine) -> None:
    """The demo has a past: invoices over several months, numbered in date order."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(invoices.c.series, invoices.c.seq, invoices.c.issue_date)
                            .order_by(invoices.c.series, invoices.c.seq)).all()
    for series in {r.series for r in rows}:
        dates = [r.issue_date for r in rows if r.series == series]
        assert dates == sorted(dates), series
    assert len({(r.issue_date.year, r.issue_date.month) for r in rows}) >= 3


def test_demo_workspace_shows_every_state(qtbot, settings):
    demo = replace(settings, demo=True, db_url=None)
    window = open_window(qtbot, demo)
    try:
        assert "Demo" in window.windowTitle()
        queries = Queries(window.ctx.uow.engine)
        assert queries.count_jobs(include_archived=False) >= 4
        assert queries.count_jobs() == queries.count_jobs(include_archived=False) + 1
        with window.ctx.uow.engine.connect() as conn:
            states = {row[0] for row in conn.execute(sa.select(milestones.c.status).distinct())}
            payouts = {row[0] for row in conn.execute(
                sa.select(milestones.c.payout_status).distinct())}
        assert states == set(MilestoneStatus)
        assert payouts == set(PayoutStatus)  # every payout badge of the timeline
        with window.ctx.uow.engine.connect() as conn:
            ids = list(conn.scalars(sa.select(milestones.c.id)))
        labels = {queries.milestone(i).status_label for i in ids}
        assert "Disputed" in labels  # an open dispute with its deadline
        assert "bank debit processing" in {queries.milestone(i).status_qualifier for i in ids}
        assert_history_in_number_order(window.ctx.uow.engine)
        jobs_table = find(window, QTableView, "jobsTable")
        qtbot.waitUntil(lambda: jobs_table.model().rowCount() >= 4)
        jobs_table.selectRow(0)
        qtbot.waitUntil(lambda: window.findChild(QTableView, "milestoneTable") is not None)
        idle(qtbot, window)
        assert (settings.home / "demo.sqlite").exists()
    finally:
        close_window(window)


def test_command_line_version():
    out = subprocess.run([sys.executable, "-m", "opentrain_desk", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"OpenTrain Desk {__version__}"


def test_building_the_window_reads_no_keyring_on_the_gui_thread(qtbot, settings, memory_keyring):
    """Start-up stays fast: the Stripe key is looked up by the payment worker, later."""
    from opentrain_desk.app import build_window
    window = build_window(settings, on_open_demo=lambda: None)
    qtbot.addWidget(window)
    try:
        assert window.ctx.stripe.loaded is False  # Settings and every other page are built
        window.show()
        qtbot.waitUntil(lambda: window.ctx.stripe.loaded, timeout=5000)  # then the worker
    finally:
        close_window(window)
