"""Background results never reach a widget that is gone, and a refresh keeps what the user
has selected. Real window, real SQLite file, real event loop (pytest-qt fails a test on
any exception raised in a slot, e.g. "Internal C++ object already deleted")."""
from __future__ import annotations

import threading

import shiboken6
from PySide6.QtWidgets import QDialog, QPushButton, QTableView

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.services import jobs as services
from opentrain_desk.services.notifications import notify
from opentrain_desk.ui.views.history_views import PaymentHistoryView
from opentrain_desk.ui.views.trainer_messages import TrainerMessagesView
from tests.integration.test_payouts import funded_and_submitted
from tests.ui.conftest import click, find, idle, type_into, wait_dialog


def hire_n(factory, job_id: int, n: int) -> list[int]:
    return [services.hire_trainer(factory(), job_id, f"Trainer {i}", f"t{i}@example.com",
                                  MilestoneDraft(f"Batch {i}", Money.parse("100.00"))).contract_id
            for i in range(1, n + 1)]


def open_job(qtbot, window, job_id: int):
    window.jobs_page.reload()
    qtbot.waitUntil(lambda: window.jobs_page.model.rowCount() >= 1)
    window.jobs_page.open_job(job_id)
    view = window.jobs_page.job_view
    qtbot.waitUntil(lambda: view.job is not None and view.job.id == job_id)
    return view


def hold_db(window) -> threading.Event:
    """Keep the database thread busy until the returned gate is set."""
    gate = threading.Event()
    window.ctx.db.run(window, lambda: gate.wait(10))
    return gate


def test_hiring_a_fourth_trainer_keeps_the_open_tabs_and_raises_nothing(qtbot, window):
    """Was: "Internal C++ object (MilestonesModel) already deleted" on every hire after the
    third — the job view rebuilt every tab while their pages were loading."""
    factory = window.ctx.uow
    job_id = services.create_job(factory(), "Code review RLHF")
    hire_n(factory, job_id, 3)
    view = open_job(qtbot, window, job_id)
    qtbot.waitUntil(lambda: view.tabs.count() == 3)
    before = list(view.contract_views)
    for index in range(3):  # every tab shown: each model has a source and loads pages
        view.tabs.setCurrentIndex(index)
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    for name, text in (("trainerNameEdit", "Zoë Fourth"), ("trainerEmailEdit", "z4@example.com"),
                       ("milestoneTitleEdit", "Batch 4"), ("milestoneAmountEdit", "250.00")):
        type_into(qtbot, dialog.findChild(object, name), text)
    dialog.accept()
    qtbot.waitUntil(lambda: view.tabs.count() == 4, timeout=5000)
    idle(qtbot, window)
    assert view.contract_views[:3] == before  # the open tabs were kept, not rebuilt
    assert all(shiboken6.isValid(v) for v in before)
    assert view.tabs.tabText(3) == "Zoë Fourth"


def test_results_for_closed_pages_dialogs_and_contract_views_are_dropped(qtbot, window):
    factory = window.ctx.uow
    first = services.create_job(factory(), "First job")
    hire_n(factory, first, 2)
    second = services.create_job(factory(), "Second job")
    hire_n(factory, second, 1)
    view = open_job(qtbot, window, first)
    qtbot.waitUntil(lambda: view.tabs.count() == 2)
    idle(qtbot, window)
    db = window.ctx.db
    dropped_before = db.dropped

    gate = hold_db(window)  # from here on, every read waits behind the gate
    old_views = list(view.contract_views)
    for contract_view in old_views:
        contract_view.model.reload()           # a page in flight for each timeline
    history = PaymentHistoryView(window.ctx)   # a page and totals in flight
    messages = TrainerMessagesView(window.ctx, old_views[0].contract.trainer_id, "t1@ex.com")
    click(qtbot, find(window, QPushButton, "hireButton"))
    dialog = wait_dialog(qtbot, window, "hireDialog")
    for name, text in (("trainerNameEdit", "Late Hire"), ("trainerEmailEdit", "late@ex.com"),
                       ("milestoneTitleEdit", "Batch"), ("milestoneAmountEdit", "10.00")):
        type_into(qtbot, dialog.findChild(object, name), text)
    dialog.accept()                            # the hire is queued behind the gate...
    dialog.reject()                            # ...and the dialog closed meanwhile
    window.jobs_page.open_job(second)          # queued: the job view will switch jobs
    for widget in (history, messages, dialog):
        widget.deleteLater()
    qtbot.waitUntil(lambda: not any(shiboken6.isValid(w) for w in (history, messages)))

    gate.set()
    qtbot.waitUntil(lambda: view.job is not None and view.job.id == second, timeout=5000)
    idle(qtbot, window)
    qtbot.waitUntil(lambda: not any(shiboken6.isValid(v) for v in old_views))
    for contract_view in old_views:  # their timelines' pages were still to come
        assert not shiboken6.isValid(contract_view)
    idle(qtbot, window)
    assert db.dropped - dropped_before >= 3   # history page + totals + messages at least
    assert view.tabs.count() == 1 and view.contract_views[0].contract.job_id == second


def test_a_refresh_keeps_the_selected_milestone_and_approve_still_works(
        qtbot, sandbox_window, gateway):
    window = sandbox_window
    factory = window.ctx.uow
    [m_id] = funded_and_submitted(factory, gateway)
    with factory() as uow:
        contract_id = uow.milestones.get(m_id).contract_id
        job_id = uow.contracts.get(contract_id).job_id
    window.jobs_page.reload()
    qtbot.waitUntil(lambda: window.jobs_page.model.rowCount() == 1)
    window.jobs_page.open_job(job_id, contract_id, m_id)
    job_view = window.jobs_page.job_view
    qtbot.waitUntil(lambda: (view := job_view.current_contract()) is not None
                    and view.selected() is not None, timeout=5000)
    table = job_view.current_contract().table
    approve = find(window, QPushButton, "approveMilestoneButton")
    qtbot.waitUntil(approve.isEnabled)
    jobs_table = find(window, QTableView, "jobsTable")
    contract_view = window.jobs_page.job_view.current_contract()
    loads = []
    contract_view.model.loaded.connect(lambda: loads.append(1))
    for i in range(5):  # notifications arrive; each one refreshes the lists
        with factory() as uow:
            notify(uow, "paid out", f"News {i}")
            uow.commit()
        window.ctx.sync.paymentsChanged.emit()
        window.jobs_page.payments_changed()
    qtbot.waitUntil(lambda: len(loads) >= 1, timeout=5000)
    idle(qtbot, window)
    assert table.selectionModel().hasSelection()
    assert contract_view.selected().id == m_id
    assert jobs_table.selectionModel().hasSelection()
    assert approve.isEnabled()
    click(qtbot, approve)
    dialog = wait_dialog(qtbot, window, "approveDialog", QDialog)
    assert dialog.milestone.id == m_id
    dialog.reject()


def test_a_milestone_added_meanwhile_does_not_move_the_selection(qtbot, window):
    factory = window.ctx.uow
    job_id = services.create_job(factory(), "Busy job")
    [contract_id] = hire_n(factory, job_id, 1)
    for i in range(2, 6):
        services.add_milestone(factory(), contract_id,
                               MilestoneDraft(f"Batch {i}", Money.parse("5.00")))
    view = open_job(qtbot, window, job_id)
    contract_view = view.current_contract()
    qtbot.waitUntil(lambda: contract_view.model.rowCount() == 5)
    contract_view.select_milestone(contract_view.model.row_at(3).id)
    chosen = contract_view.selected().id
    services.add_milestone(factory(), contract_id,
                           MilestoneDraft("Late one", Money.parse("5.00")))
    contract_view.refresh()
    qtbot.waitUntil(lambda: contract_view.model.rowCount() == 6)
    assert contract_view.selected().id == chosen


def test_a_job_inserted_above_the_selected_one_keeps_the_selection(qtbot, qtmodeltester,
                                                                   window):
    factory = window.ctx.uow
    ids = [services.create_job(factory(), f"Job {i}") for i in range(1, 4)]
    page = window.jobs_page
    page.reload()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    assert page.select_job(ids[0])  # the oldest: the last row (newest first)
    scroll_before = page.table.verticalScrollBar().value()
    services.create_job(factory(), "Newest job")  # sorts above every other row
    page.reload()
    qtbot.waitUntil(lambda: page.model.rowCount() == 4)
    rows = page.table.selectionModel().selectedRows()
    assert [page.model.row_at(r.row()).id for r in rows] == [ids[0]]
    assert page.table.verticalScrollBar().value() == scroll_before
    assert page.job_view.job is not None and page.job_view.job.id == ids[0]
    qtmodeltester.check(page.model, force_py=True)
