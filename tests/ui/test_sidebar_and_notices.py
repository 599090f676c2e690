"""The left sidebar (areas by mouse, keyboard and shortcuts; the unread count) and desktop
notices (a fake tray records what is shown; clicking one opens the milestone)."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QCheckBox, QWidget

from opentrain_desk.domain.milestones import Action
from opentrain_desk.services import jobs as services
from opentrain_desk.services.notifications import mark_read, notify
from opentrain_desk.ui.desktop_notices import DesktopNotices
from opentrain_desk.ui.sidebar import Sidebar
from opentrain_desk.ui.views.notifications_page import NotificationsPage
from tests.ui.conftest import close_window, find, open_window
from tests.ui.test_desk_forms import job_with_contract
from tests.ui.test_timeline import milestone_table

AREAS = ("actionJobs", "actionReports", "actionNotifications", "actionSettings")


class FakeTray(QObject):
    """Records ``showMessage`` calls; tests emit ``messageClicked`` like a desktop would."""

    messageClicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str]] = []

    def showMessage(self, title, body, _icon=None, _ms=0) -> None:  # noqa: N802 (Qt's name)
        self.messages.append((title, body))


def current_page(window) -> QWidget:
    return window.stack.currentWidget()


def page_of(window, name: str) -> QWidget:
    return window.areas[name][1]


def sidebar_button(window, name: str):
    return window.sidebar.buttons[name]


# -- sidebar -------------------------------------------------------------------------------------
def test_the_sidebar_switches_areas_by_mouse_and_follows_the_actions(qtbot, window):
    sidebar = find(window, Sidebar, "sidebar")
    assert sidebar.isVisible() and sidebar.current() is sidebar_button(window, "actionJobs")
    assert [b.text() for b in sidebar.buttons.values()] == ["Jobs", "Reports", "Notifications",
                                                           "Settings"]
    for name in (*AREAS[1:], AREAS[0]):
        qtbot.mouseClick(sidebar_button(window, name), Qt.MouseButton.LeftButton)
        assert current_page(window) is page_of(window, name)
        assert window.areas[name][0].isChecked()
        assert sidebar.current() is sidebar_button(window, name)
    # a click on the current area keeps it current (the action decides, not the button)
    qtbot.mouseClick(sidebar_button(window, "actionJobs"), Qt.MouseButton.LeftButton)
    assert sidebar.current() is sidebar_button(window, "actionJobs")
    # the actions still switch, and the sidebar shows where we are
    for name in AREAS:
        find(window, QAction, name).trigger()
        assert current_page(window) is page_of(window, name)
        assert sidebar.current() is sidebar_button(window, name)


def test_shortcuts_still_switch_areas(qtbot, window):
    keys = {"actionJobs": "Ctrl+1", "actionReports": "Ctrl+2",
            "actionNotifications": "Ctrl+3", "actionSettings": "Ctrl+4"}
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    for name in ("actionSettings", "actionReports", "actionNotifications", "actionJobs"):
        sequence = QKeySequence(keys[name])
        qtbot.keyClick(window, sequence[0].key(), sequence[0].keyboardModifiers())
        qtbot.waitUntil(lambda n=name: current_page(window) is page_of(window, n))
        assert window.sidebar.current() is sidebar_button(window, name)
    assert "Ctrl+," in [s.toString() for s in find(window, QAction, "actionSettings")
                        .shortcuts()]


def test_the_sidebar_by_keyboard_tab_arrows_enter_space(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    jobs = sidebar_button(window, "actionJobs")
    # Tab from the window's start reaches the sidebar's current area first (one tab stop)
    window.setFocus()
    for _ in range(40):
        if QApplication.focusWidget() is jobs:
            break
        qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is jobs
    tab_stops = [b for b in window.sidebar.buttons.values()
                 if b.focusPolicy() & Qt.FocusPolicy.TabFocus]
    assert tab_stops == [jobs]
    # arrows move without switching; Enter opens
    qtbot.keyClick(jobs, Qt.Key.Key_Down)
    reports = sidebar_button(window, "actionReports")
    assert QApplication.focusWidget() is reports
    assert current_page(window) is page_of(window, "actionJobs")
    qtbot.keyClick(reports, Qt.Key.Key_Return)
    assert current_page(window) is page_of(window, "actionReports")
    assert window.sidebar.current() is reports
    # End, then Space opens Settings; Home goes back up; Up at the top stays
    qtbot.keyClick(reports, Qt.Key.Key_End)
    settings = sidebar_button(window, "actionSettings")
    assert QApplication.focusWidget() is settings
    qtbot.keyClick(settings, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: current_page(window) is page_of(window, "actionSettings"))
    qtbot.keyClick(settings, Qt.Key.Key_Home)
    qtbot.keyClick(jobs, Qt.Key.Key_Up)
    assert QApplication.focusWidget() is jobs
    # Tab leaves the sidebar for the area; Shift+Tab comes back to the entry we were on
    qtbot.keyClick(jobs, Qt.Key.Key_Tab)
    inside = QApplication.focusWidget()
    assert inside is not None and page_of(window, "actionSettings").isAncestorOf(inside)
    qtbot.keyClick(inside, Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is jobs


def test_the_unread_count_follows_notifications_as_they_arrive_and_are_read(qtbot, window):
    uow = window.ctx.uow
    button = sidebar_button(window, "actionNotifications")
    page: NotificationsPage = window.notifications_page
    assert button.badge == 0 and button.accessibleName() == "Notifications"
    job, hired = job_with_contract(window)
    with uow() as u:
        for n in (1, 2):
            notify(u, "submitted", f"Work {n} submitted", job_id=job,
                   contract_id=hired.contract_id, milestone_id=hired.milestone_id)
        notify(u, "paid out", "$10.00 paid out")  # news: not counted
        u.commit()
    page.reload()
    qtbot.waitUntil(lambda: button.badge == 2)
    assert button.accessibleName() == "Notifications, 2 need you"
    assert find(window, QAction, "actionNotifications").text() == "Notifications (2)"
    first = max(r.id for r in window.ctx.read.notifications_page() if r.kind == "submitted")
    mark_read(uow(), [first])
    page.reload()
    qtbot.waitUntil(lambda: button.badge == 1)
    mark_read(uow(), None)
    page.reload()
    qtbot.waitUntil(lambda: button.badge == 0)
    assert button.accessibleName() == "Notifications"


# -- desktop notices -----------------------------------------------------------------------------
def funded_submission(window):
    """A job with a funded milestone, submitted for review through the service."""
    job, hired = job_with_contract(window)
    with window.ctx.uow() as u:  # funded outside the UI: these tests are about the notice
        m = u.milestones.get(hired.milestone_id)
        m.apply(Action.START_FUNDING, u.now)
        m.apply(Action.FUNDING_SUCCEEDED, u.now)
        u.commit()
    services.record_submission(window.ctx.uow(), hired.milestone_id, "All pairs ranked")
    return job, hired


def tell(window, kind: str, title: str, job=None, hired=None) -> None:
    with window.ctx.uow() as u:
        notify(u, kind, title, "details", job_id=job,
               contract_id=hired.contract_id if hired else None,
               milestone_id=hired.milestone_id if hired else None)
        u.commit()


def with_fake_tray(qtbot, window) -> FakeTray:
    qtbot.waitUntil(lambda: settled(window))  # the first look (sets this seat's mark) is done
    tray = FakeTray()
    window.desktop_notices.set_tray(tray)
    return tray


def settled(window) -> bool:
    """No database work running and none waiting for its debounce timer."""
    db = window.ctx.db
    return db.pending == 0 and not db._debounced


def arrive(qtbot, window) -> None:
    """What the page does when payments change or its poll fires: look again (its unread
    check, then the desktop notices' check it sets off)."""
    window.notifications_page.reload()
    qtbot.waitUntil(lambda: settled(window), timeout=5000)


def test_a_submission_shows_one_notice_and_clicking_it_opens_the_milestone(qtbot, window):
    tray = with_fake_tray(qtbot, window)
    job, hired = funded_submission(window)
    arrive(qtbot, window)
    qtbot.waitUntil(lambda: len(tray.messages) == 1)
    title, body = tray.messages[0]
    assert title == "Ana Lima marked “Batch 1” complete"
    assert "review and approve" in body
    arrive(qtbot, window)  # seen once, shown once
    assert len(tray.messages) == 1
    window.show_area("actionSettings")
    tray.messageClicked.emit()
    assert current_page(window) is page_of(window, "actionJobs")
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.selectionModel().hasSelection())
    view = window.jobs_page.job_view.current_contract()
    assert view.contract.id == hired.contract_id
    [row] = {i.row() for i in table.selectionModel().selectedIndexes()}
    assert table.model().row_at(row).id == hired.milestone_id


def test_each_kind_that_needs_a_person_is_told_news_is_not(qtbot, window):
    tray = with_fake_tray(qtbot, window)
    job, hired = job_with_contract(window)
    for kind, title in (("payout failed", "Payout of $100.00 to Ana Lima failed"),
                        ("disputed", "Dispute: $100.00 on “Batch 1”"),
                        ("funding failed", "Bank debit for “Batch 1” failed"),
                        ("paid out", "$100.00 paid out to Ana Lima"),
                        ("refunded", "$100.00 refunded")):
        tell(window, kind, title, job, hired)
        arrive(qtbot, window)
    assert [t for t, _b in tray.messages] == ["Payout of $100.00 to Ana Lima failed",
                                              "Dispute: $100.00 on “Batch 1”",
                                              "Bank debit for “Batch 1” failed"]


def test_a_burst_is_one_summary_that_opens_the_list(qtbot, window):
    tray = with_fake_tray(qtbot, window)
    job, hired = job_with_contract(window)
    for n in range(5):
        tell(window, "submitted", f"Work {n} submitted", job, hired)
    tell(window, "paid out", "$1.00 paid out", job, hired)
    arrive(qtbot, window)
    assert tray.messages == [("5 new notifications need you",
                              "Work 4 submitted\nWork 3 submitted\nWork 2 submitted\n"
                              "and 2 more")]
    tray.messageClicked.emit()
    assert current_page(window) is page_of(window, "actionNotifications")


def test_turned_off_nothing_is_shown_and_nothing_piles_up(qtbot, window):
    tray = with_fake_tray(qtbot, window)
    job, hired = job_with_contract(window)
    window.show_area("actionSettings")
    check = find(window, QCheckBox, "desktopNoticesCheck")
    assert check.isChecked()
    check.setChecked(False)
    tell(window, "submitted", "Work submitted while off", job, hired)
    arrive(qtbot, window)
    assert tray.messages == []
    check.setChecked(True)  # turned back on: what came while off is not dumped at once
    arrive(qtbot, window)
    assert tray.messages == []
    tell(window, "payout failed", "Payout failed after", job, hired)
    arrive(qtbot, window)
    assert [t for t, _b in tray.messages] == ["Payout failed after"]


def test_nothing_is_shown_twice_after_a_restart(qtbot, qapp, settings, monkeypatch):
    trays: list[FakeTray] = []
    monkeypatch.setattr(DesktopNotices, "make_tray",
                        lambda self: trays.append(FakeTray()) or trays[-1])
    first = open_window(qtbot, settings)
    job, hired = job_with_contract(first)
    tell(first, "submitted", "Shown in the first window", job, hired)
    arrive(qtbot, first)
    assert [t for t, _b in trays[0].messages] == ["Shown in the first window"]
    close_window(first)
    # restarted: a second window on the same workspace file
    second = open_window(qtbot, settings)
    arrive(qtbot, second)
    assert len(trays) == 1  # nothing to show: no tray message (not even a tray made)
    tell(second, "disputed", "New after the restart", job, hired)
    arrive(qtbot, second)
    assert [t for t, _b in trays[1].messages] == ["New after the restart"]
    tell(second, "payout failed", "Came while closed", job, hired)
    close_window(second)  # before it looked: the next start tells it, once
    third = open_window(qtbot, settings)
    try:
        qtbot.waitUntil(lambda: settled(third))
        arrive(qtbot, third)
        assert [t for t, _b in trays[2].messages] == ["Came while closed"]
        assert len(trays) == 3
    finally:
        close_window(third)
