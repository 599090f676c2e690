"""Two seats (two main windows, each its own engine and member) on one PostgreSQL
workspace: the other seat's changes appear without reloading, the list keeps its
selection and scroll position, and a stale edit form is refused with who and when while
what was typed stays."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import shiboken6
import sqlalchemy as sa
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QTableView

from opentrain_desk.app import close_window
from opentrain_desk.config import Settings
from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.roles import Role
from opentrain_desk.persistence import database
from opentrain_desk.services import jobs as services
from opentrain_desk.services.payment_sender import NOBODY_TEXT
from opentrain_desk.services.workspace_settings import PAYMENTS_SENDER
from tests.ui.conftest import click, find, idle, open_window, styled, submit, type_into, wait_dialog

SEAT_APP = "otd_seat_test"
MEMBERS = {"dana": ("Dana Finance", Role.OWNER), "max": ("Max Manager", Role.MANAGER)}


@pytest.fixture
def team(postgres_url):
    engine = database.create_engine(postgres_url)
    database.migrate(engine)
    with engine.begin() as conn:
        for login, (name, role) in MEMBERS.items():
            now = datetime.now(timezone.utc)
            conn.execute(sa.text("INSERT INTO members (login, name, role, active, created_at, "
                                 "updated_at) VALUES (:l, :n, :r, true, :t, :t)"),
                         {"l": login, "n": name, "r": role.value, "t": now})
    engine.dispose()
    return f"{postgres_url}&application_name={SEAT_APP}"  # the seats' backends, by name


@pytest.fixture
def seats(qtbot, qapp, tmp_path, team):
    styled(qapp)
    windows = [open_window(qtbot, Settings(home=tmp_path / login, db_url=team, actor=login))
               for login in MEMBERS]
    for window in windows:
        qtbot.waitUntil(window.ctx.live.feed.connected.is_set, timeout=10000)
    yield windows
    for window in windows:
        close_window(window)


def test_the_other_seats_changes_appear_and_the_list_keeps_selection_and_scroll(
        qtbot, seats):
    dana, max_ = seats
    ids = [services.create_job(dana.ctx.uow(), f"Job {i:02}") for i in range(60)]
    table = find(max_, QTableView, "jobsTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 60, timeout=10000)  # no reload
    max_.resize(1000, 500)
    target = ids[10]  # near the bottom of the newest-first list
    row = next(r for r in range(60) if table.model().row_at(r).id == target)
    table.selectRow(row)
    table.scrollTo(table.model().index(row, 0))
    idle(qtbot, max_)
    scroll = table.verticalScrollBar().value()
    assert scroll > 0
    title = find(max_, QLabel, "jobTitleLabel")
    qtbot.waitUntil(lambda: title.text() == "Job 10", timeout=5000)

    services.edit_job(dana.ctx.uow(), target, "Job 10 (renamed by Dana)")
    qtbot.waitUntil(lambda: table.model().row_at(row).title == "Job 10 (renamed by Dana)",
                    timeout=5000)
    assert table.selectionModel().selectedRows()[0].row() == row
    assert table.verticalScrollBar().value() == scroll
    qtbot.waitUntil(lambda: title.text() == "Job 10 (renamed by Dana)", timeout=5000)

    # a milestone Dana adds shows up in Max's open timeline
    hired = services.hire_trainer(dana.ctx.uow(), target, "Ana Lima", "ana@example.com",
                                  MilestoneDraft("Batch 1", Money(50_000)))
    qtbot.waitUntil(lambda: max_.findChild(QTableView, "milestoneTable") is not None,
                    timeout=5000)
    timeline = max_.findChild(QTableView, "milestoneTable")
    qtbot.waitUntil(lambda: timeline.model().rowCount() == 1, timeout=5000)
    services.add_milestone(dana.ctx.uow(), hired.contract_id,
                           MilestoneDraft("Batch 2", Money(60_000)))
    qtbot.waitUntil(lambda: timeline.model().rowCount() == 2, timeout=5000)


def test_a_stale_milestone_form_is_refused_with_who_and_when_and_keeps_the_input(
        qtbot, seats):
    dana, max_ = seats
    job_id = services.create_job(dana.ctx.uow(), "Code review RLHF")
    services.hire_trainer(dana.ctx.uow(), job_id, "Ana Lima", "ana@example.com",
                          MilestoneDraft("Batch 1", Money(50_000)))
    table = find(max_, QTableView, "jobsTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 1, timeout=10000)
    table.selectRow(0)
    qtbot.waitUntil(lambda: max_.findChild(QTableView, "milestoneTable") is not None
                    and max_.findChild(QTableView, "milestoneTable").model().rowCount() == 1,
                    timeout=5000)
    timeline = max_.findChild(QTableView, "milestoneTable")
    timeline.selectRow(0)
    milestone = timeline.model().row_at(0)
    edit_button = next(b for b in max_.findChildren(QPushButton)
                       if b.text().startswith("Edit") and b.isVisible()
                       and b.objectName() != "editJobButton")
    click(qtbot, edit_button)
    dialog = wait_dialog(qtbot, max_, "editMilestoneDialog")
    # meanwhile Dana changes it
    services.edit_milestone(dana.ctx.uow(), milestone.id,
                            MilestoneDraft("Batch 1 (Dana)", Money(70_000)))
    type_into(qtbot, find(dialog, QLineEdit, "milestoneTitleEdit"), "Batch 1 (Max)")
    type_into(qtbot, find(dialog, QLineEdit, "milestoneAmountEdit"), "650.00")
    submit(qtbot, dialog)
    error = find(dialog, QLabel, "formErrorLabel")
    qtbot.waitUntil(error.isVisible, timeout=5000)
    assert error.text().startswith("Changed by Dana Finance at ")
    assert "now “Batch 1 (Dana)”, $700.00" in error.text()
    assert find(dialog, QLineEdit, "milestoneTitleEdit").text() == "Batch 1 (Max)"
    assert find(dialog, QLineEdit, "milestoneAmountEdit").text() == "650.00"
    dialog.grab().save("/tmp/tl/conflict_dialog.png")
    submit(qtbot, dialog)  # seen the new values: save over them
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(),
                    timeout=5000)
    with max_.ctx.uow() as uow:
        saved = uow.milestones.get(milestone.id)
        assert (saved.title, saved.amount_cents, saved.updated_by) == ("Batch 1 (Max)",
                                                                      65_000, "max")


def test_every_seats_status_bar_says_who_sends_payments(qtbot, qapp, tmp_path, team,
                                                         sandbox):
    """Dana (Owner, sandbox key) sends; Max (Manager) only queues and is told who sends;
    once Dana's seat is gone (its heartbeat stale) Max is told nobody is sending."""
    styled(qapp)
    windows = [open_window(qtbot, Settings(home=tmp_path / login, db_url=team, actor=login,
                                           sandbox=True), sandbox_server=sandbox)
               for login in MEMBERS]
    dana, max_ = windows
    try:
        label = find(max_, QLabel, "syncStatusLabel")
        qtbot.waitUntil(lambda: label.text().startswith(
            "Payments sent by Dana Finance's seat"), timeout=15000)
        assert not find(dana, QLabel, "syncStatusLabel").text().startswith("Payments sent")
        close_window(dana)
        engine = database.create_engine(team)
        old = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE workspace_settings SET value = :v WHERE key = :k"),
                         {"k": PAYMENTS_SENDER, "v": json.dumps(
                             {"login": "dana", "name": "Dana Finance", "at": old})})
        engine.dispose()
        qtbot.waitUntil(lambda: label.text().startswith(NOBODY_TEXT), timeout=10000)
        max_.statusBar().grab().save("/tmp/tl/status_nobody.png")
    finally:
        close_window(max_)


def test_a_seat_whose_server_connections_were_terminated_reconnects_and_loses_nothing(
        qtbot, seats):
    """An admin ends every backend of the workspace mid-session (the seats' pools and
    listeners, as a server restart would): the next action reconnects by itself, what was
    typed is saved, and seat B hears of A's changes again."""
    from tests.ui.test_storage_faults import new_job_dialog, titles
    dana, max_ = seats
    feed = max_.ctx.live.feed
    first_listener = feed.backend_pid
    with max_.ctx.uow.engine.connect() as conn:  # a pooled connection, to be ended too
        pooled = conn.scalar(sa.text("SELECT pg_backend_pid()"))
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with admin.connect() as conn:
        seats_backends = set(conn.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE application_name = :app"),
            {"app": SEAT_APP}))
        ended = {pid for pid in seats_backends if conn.scalar(
            sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})}
    admin.dispose()
    assert {first_listener, pooled} <= ended
    dialog = new_job_dialog(qtbot, max_, "Typed after the server dropped us")
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(),
                    timeout=15000)
    idle(qtbot, max_)
    assert "Typed after the server dropped us" in titles(max_)
    qtbot.waitUntil(lambda: feed.connected.is_set() and feed.backend_pid != first_listener,
                    timeout=15000)
    table = find(max_, QTableView, "jobsTable")
    services.create_job(dana.ctx.uow(), "From Dana after the drop")
    qtbot.waitUntil(lambda: table.model().rowCount() == 2, timeout=10000)
