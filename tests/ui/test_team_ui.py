"""Roles in the window: what a role cannot do is disabled with the reason; a refusal that
still reaches a service is shown and keeps what was typed; Settings → Team; the audit log."""
from __future__ import annotations

import csv
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton, QWidget

from opentrain_desk.app import close_window
from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.roles import Role
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.persistence import database
from opentrain_desk.services import billing, jobs
from opentrain_desk.services.team import Member
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from opentrain_desk.ui.roles import GATED
from tests.ui.conftest import click, find, open_window, select_row, styled, wait_dialog

NOW = datetime(2024, 5, 2, 14, 2, tzinfo=timezone.utc)


@pytest.fixture
def owner(settings):
    """The workspace's (solo) Owner, "tester", with a job and a hired trainer."""
    engine = database.create_engine(settings.db_url)
    database.migrate(engine)
    factory = UnitOfWorkFactory(engine, settings.actor)
    yield factory
    engine.dispose()


def add_member(factory, login: str, role: Role, name: str) -> None:
    with factory() as uow:
        uow.members.add(login, name, role.value, NOW)
        uow.commit()


def seat(qtbot, qapp, settings, login: str, **changes):
    styled(qapp)
    window = open_window(qtbot, replace(settings, actor=login, **changes), **(
        {"sandbox_server": changes.pop("server")} if "server" in changes else {}))
    qtbot.waitUntil(lambda: window.ctx.member is not None, timeout=5000)
    return window


def enabled_writes(window) -> list[str]:
    found = [w.objectName() for name in GATED for w in window.findChildren(QWidget, name)
             if w.isVisibleTo(window) and w.isEnabled()]
    return found + [a.objectName() for name in GATED for a in window.findChildren(QAction, name)
                    if a.isEnabled()]


def test_a_viewers_window_has_no_enabled_write_action(qtbot, qapp, settings, owner):
    job_id = jobs.create_job(owner(), "Code review RLHF")
    hired = jobs.hire_trainer(owner(), job_id, "Ana Lima", "ana@example.com",
                              MilestoneDraft("Batch 1", Money.parse("1,250.00")))
    add_member(owner, "vera", Role.VIEWER, "Vera Viewer")
    window = seat(qtbot, qapp, settings, "vera")
    try:
        window.jobs_page.open_job(job_id, hired.contract_id, hired.milestone_id)
        qtbot.waitUntil(lambda: window.findChild(QPushButton, "hireButton") is not None)
        qtbot.waitUntil(lambda: window.ctx.db.pending == 0)
        for area in ("actionJobs", "actionReports", "actionSettings"):
            window.show_area(area)
            qtbot.waitUntil(lambda: window.ctx.db.pending == 0)
            assert enabled_writes(window) == [], area
        hire = find(window, QPushButton, "hireButton")
        assert hire.toolTip().startswith("Your role (Viewer) cannot hire trainers.")
        assert find(window, QAction, "actionNewJob").toolTip().startswith(
            "Your role (Viewer) cannot create, edit or archive jobs.")
        assert window.findChild(QWidget, "auditLogTable") is not None  # may read the log
    finally:
        close_window(window)


def _pending_approval(settings, owner, gateway):
    billing.add_test_card(owner, gateway, "pm_card_visa")
    job_id = jobs.create_job(owner(), "Code review RLHF")
    hired = jobs.hire_trainer(owner(), job_id, "Ana Lima", "ana@example.com",
                              MilestoneDraft("Batch 1", Money.parse("1,250.00")),
                              fund_mode="test")
    OutboxWorker(owner, lambda: gateway, lease=timedelta(0)).run_once()
    jobs.record_submission(owner(), hired.milestone_id, "done")
    return job_id, hired


def test_an_accountants_approval_forced_through_is_refused_in_the_dialog(
        qtbot, qapp, settings, owner, sandbox, gateway):
    settings = replace(settings, sandbox=True)
    job_id, hired = _pending_approval(settings, owner, gateway)
    add_member(owner, "ada", Role.ACCOUNTANT, "Ada Accountant")
    styled(qapp)
    window = open_window(qtbot, replace(settings, actor="ada"), sandbox_server=sandbox)
    try:
        qtbot.waitUntil(lambda: window.ctx.member is not None)
        assert window.ctx.member.role is Role.ACCOUNTANT
        # the window still believes the member is Finance (their role changed meanwhile)
        window.set_member(Member(0, "ada", "Ada Accountant", Role.FINANCE, True))
        window.jobs_page.open_job(job_id, hired.contract_id, hired.milestone_id)
        qtbot.waitUntil(lambda: window.findChild(QPushButton, "approveMilestoneButton")
                        is not None)
        table = window.findChild(QWidget, "milestoneTable")
        select_row(qtbot, table, 0)
        approve = find(window, QPushButton, "approveMilestoneButton")
        qtbot.waitUntil(approve.isEnabled)
        click(qtbot, approve)
        dialog = wait_dialog(qtbot, window, "approveDialog")
        find(dialog, QCheckBox, "verifiedWorkCheck").setChecked(True)
        release = dialog.findChild(QLineEdit, "releaseAmountEdit")
        if release is not None:
            release.setText("1,000.00")
        click(qtbot, find(dialog, QPushButton, "confirmApproveButton"))
        shown = lambda: " ".join(label.text() for label in dialog.findChildren(QLabel))  # noqa: E731
        qtbot.waitUntil(lambda: "Your role (Accountant) cannot approve" in shown(),
                        timeout=5000)
        assert dialog.isVisible()  # kept open, with what was typed
        if release is not None:
            assert release.text() == "1,000.00"
    finally:
        close_window(window)


class FakeTeamAdmin:
    """Records the database-side calls Settings → Team makes (no logins on SQLite)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, *args))


def test_team_section_adds_a_member_and_keeps_the_last_owner(qtbot, qapp, qtmodeltester,
                                                             settings, owner):
    admin = FakeTeamAdmin()
    window = seat(qtbot, qapp, settings, settings.actor)
    try:
        window.ctx.team_admin = admin
        section = window.settings_page.team_section
        section.managed = True
        for widget in (section.add_button, section.role_combo):
            widget.setVisible(True)
        window.show_area("actionSettings")
        table = find(window, QWidget, "teamTable")
        qtbot.waitUntil(lambda: table.model().rowCount() == 1)
        click(qtbot, find(window, QPushButton, "addMemberButton"))
        dialog = wait_dialog(qtbot, window, "addMemberDialog")
        find(dialog, QLineEdit, "memberNameEdit").setText("Ana López")
        combo = dialog.findChild(QWidget, "newMemberRoleCombo")
        combo.setCurrentIndex(combo.findData(Role.ACCOUNTANT))
        click(qtbot, find(dialog, QPushButton, "submitButton"))
        qtbot.waitUntil(lambda: dialog.findChild(QLineEdit, "oneTimePasswordEdit") is not None)
        login = find(dialog, QLineEdit, "memberLoginEdit").text()
        password = find(dialog, QLineEdit, "oneTimePasswordEdit").text()
        assert login == "ana_lopez" and len(password) >= 12
        click(qtbot, find(dialog, QPushButton, "copyPasswordButton"))
        assert qapp.clipboard().text() == password
        assert admin.calls == [("add_member", "ana_lopez", "accountant", password)]
        click(qtbot, find(dialog, QPushButton, "submitButton"))  # Done
        qtbot.waitUntil(lambda: table.model().rowCount() == 2)
        qtmodeltester.check(table.model())
        names = [table.model().index(r, 0).data() for r in range(2)]
        assert "Ana López" in names
        # the only Owner cannot be demoted
        owner_row = next(r for r in range(2) if table.model().index(r, 2).data() == "Owner")
        table.selectRow(owner_row)
        role = find(window, QWidget, "memberRoleCombo")
        role.setCurrentIndex(role.findData(Role.VIEWER))
        role.activated.emit(role.currentIndex())
        status = find(window, QLabel, "teamStatusLabel")
        qtbot.waitUntil(lambda: status.text().startswith("At least one Owner"))
        assert role.currentData() is Role.OWNER  # back to the member's real role
        assert table.model().index(owner_row, 2).data() == "Owner"
    finally:
        close_window(window)


def test_solo_team_section_says_how_to_move_to_a_server(qtbot, qapp, settings, owner):
    window = seat(qtbot, qapp, settings, settings.actor)
    try:
        window.show_area("actionSettings")
        hint = find(window, QLabel, "teamSoloLabel")
        assert hint.isVisibleTo(window) and "opentrain-desk team migrate" in hint.text()
        # the command names the workspace file as `team migrate --from` takes it
        database = window.workspace.engine.url.database
        assert f"--from {database} " in hint.text() and "sqlite:" not in hint.text()
        assert not find(window, QPushButton, "addMemberButton").isVisibleTo(window)
    finally:
        close_window(window)


def test_audit_log_filters_by_member_and_exports_csv(qtbot, qapp, qtmodeltester, settings,
                                                     owner, tmp_path):
    from opentrain_desk.services import people
    people.set_my_name(owner(), "Olga Owner")
    jobs.create_job(owner(), "By the owner")
    add_member(owner, "max", Role.MANAGER, "Max Manager")
    jobs.create_job(UnitOfWorkFactory(owner.engine, "max")(), "By the manager")
    window = seat(qtbot, qapp, settings, settings.actor)
    try:
        window.show_area("actionReports")
        page = window.reports_page
        page.tabs.setCurrentWidget(page.audit_tab)
        table = find(window, QWidget, "auditLogTable")
        model = table.model()
        qtbot.waitUntil(lambda: model.rowCount() >= 3)
        qtmodeltester.check(model)
        combo = find(window, QWidget, "auditMemberCombo")
        qtbot.waitUntil(lambda: combo.findData("max") >= 0)
        combo.setCurrentIndex(combo.findData("max"))
        combo.activated.emit(combo.currentIndex())
        qtbot.waitUntil(lambda: model.rowCount() == 1)
        assert model.index(0, 1).data() == "Max Manager"
        assert model.index(0, 2).data().startswith("job #")
        assert "title: By the manager" in model.index(0, 3).data()
        target = tmp_path / "audit.csv"
        with qtbot.waitSignal(page.audit_tab.exported, timeout=10000) as done:
            page.audit_tab.export_csv(target)
        assert done.args == [1]
        with target.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0][:3] == ["When (UTC)", "Member", "Login"]
        assert rows[1][1:3] == ["Max Manager", "max"] and rows[1][5] == "created"
    finally:
        close_window(window)
