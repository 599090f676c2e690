"""The main window: areas switched by actions, status bar, remembered layout.

Built in two steps so start-up can paint before the heavy modules load: ``MainWindow``
alone is the frame (menus, sidebar, status bar, the jobs area saying it is loading) and
imports nothing but Qt and light helpers; :meth:`MainWindow.attach` then fills it in with
the pages of an open workspace (``app.build_window``). Only the jobs page is made at once;
the others are made when first shown, or by :meth:`MainWindow.build_all_pages`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMainWindow, QStackedWidget, QVBoxLayout,
                               QWidget)

from ..config import APP_NAME, Settings
from .layout_memory import LayoutMemory
from .sidebar import MIN_WIDTH as SIDEBAR_MIN_WIDTH
from .sidebar import Sidebar

if TYPE_CHECKING:
    from .context import AppContext

AREAS = (("Jobs", "actionJobs", ("Ctrl+1",)),
         ("Reports", "actionReports", ("Ctrl+2",)),
         ("Notifications", "actionNotifications", ("Ctrl+3",)),
         ("Settings", "actionSettings", ("Ctrl+,", "Ctrl+4")))
#: what needs an open workspace: disabled in the frame until :meth:`MainWindow.attach`
NEEDS_WORKSPACE = ("actionNewJob", "actionFind", "actionSyncNow")

MEMBER_RECHECK_MS = 30_000


def loading_panel(area: str) -> QWidget:
    """What an area shows until its page is ready: the same place, saying so."""
    panel = QWidget(objectName="areaLoading")
    label = QLabel(f"Loading {area.lower()}…", objectName="areaLoadingLabel",
                   alignment=Qt.AlignmentFlag.AlignCenter)
    label.setProperty("role", "hint")
    label.setAccessibleName("Loading")
    layout = QVBoxLayout(panel)
    layout.addWidget(label)
    return panel


class MainWindow(QMainWindow):
    memberKnown = Signal(object)  # services.team.Member: who is signed in, with which role

    def __init__(self, settings: Settings, open_demo=None) -> None:
        super().__init__()
        self.settings, self.open_demo = settings, open_demo
        self.ctx: AppContext | None = None
        self.setObjectName("mainWindow")
        self.setAccessibleName(APP_NAME)
        workspace = " — Demo workspace" if settings.demo else ""
        self.setWindowTitle(f"{APP_NAME}{workspace}")
        self.resize(1280, 780)
        # the storage banner (hygiene/banner.py) goes above the areas, in this container
        container = QWidget(objectName="centralContainer")
        column = QVBoxLayout(container)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        central = QWidget(objectName="centralArea")
        column.addWidget(central, 1)
        self.setCentralWidget(container)
        # made before the pages, so Tab reaches the sidebar before the current area
        self.sidebar = Sidebar(APP_NAME, tuple((text, name) for text, name, _keys in AREAS))
        self.stack = QStackedWidget(objectName="areaStack")
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.layout_memory = LayoutMemory(settings.ui_state_file)
        self.pages: dict[str, QWidget] = {}  # made so far, by area action name
        self.areas: dict[str, tuple[QAction, QWidget]] = {}
        self._build_areas()
        self._build_menus()
        self._build_status_bar()
        self._restore_state()

    # -- filling the frame in ----------------------------------------------------------
    def attach_first_page(self, ctx: AppContext) -> None:
        """Start-up, the workspace still opening: the jobs page on ``ctx`` (whose read
        side has only the first page of jobs so far; ``ctx.opened`` is False)."""
        self.ctx = ctx
        ctx.extras["layout"] = self.layout_memory
        for ops in (ctx.db, ctx.net, ctx.files):
            ops.failed.connect(self.show_error)
        self.page("actionJobs")

    def attach(self, ctx: AppContext) -> None:
        """The workspace is open: the jobs page (made now, or told so when it shows the
        first page already) and the window wired to it."""
        if self.ctx is None:
            self.attach_first_page(ctx)
        else:
            self.jobs_page.workspace_ready()
        for name, (action, _widget) in self.areas.items():
            if action.isChecked():  # an area chosen while the workspace opened: its page
                self.page(name)
        for name in NEEDS_WORKSPACE:
            action = self.findChild(QAction, name)
            if action is not None:
                action.setEnabled(True)
        if ctx.sync is None:
            self.findChild(QAction, "actionSyncNow").setVisible(False)
        self._wire_status_bar()
        self._learn_member()

    def build_all_pages(self) -> None:
        """Every area's page now (tests, and start-up once the first jobs are shown)."""
        for _text, name, _keys in AREAS:
            self.page(name)

    def page(self, name: str) -> QWidget:
        """The page of the area ``name`` (an action name), made on first use."""
        made = self.pages.get(name)
        if made is not None:
            return made
        assert self.ctx is not None and (self.ctx.opened or name == "actionJobs"), \
            "the workspace is not open yet"
        page = self._make_page(name)
        placeholder = self.areas[name][1]
        index = self.stack.indexOf(placeholder)
        self.stack.insertWidget(index, page)
        if self.stack.currentWidget() is placeholder:
            self.stack.setCurrentWidget(page)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self.pages[name] = page
        self.areas[name] = (self.areas[name][0], page)
        self._fit_sidebar()  # the page may need more room than its placeholder did
        return page

    def _make_page(self, name: str) -> QWidget:
        ctx = self.ctx
        if name == "actionJobs":
            from .views.jobs_page import JobsPage
            page = JobsPage(ctx, self)
            self.layout_memory.track_splitter(page.splitter, "jobs/splitter")
            self.layout_memory.track_header(page.table.horizontalHeader(), "jobs/columns")
            return page
        if name == "actionReports":
            from .views.reports.page import ReportsPage
            return ReportsPage(ctx, self)
        if name == "actionNotifications":
            from .views.notifications_page import NotificationsPage
            page = NotificationsPage(ctx, self)
            self._wire_notifications(page)
            return page
        from .views.settings import SettingsPage
        page = SettingsPage(ctx, self)
        page.stripeChanged.connect(self.update_mode)
        return page

    # each area's page, made when first asked for
    jobs_page = property(lambda self: self.page("actionJobs"))
    reports_page = property(lambda self: self.page("actionReports"))
    notifications_page = property(lambda self: self.page("actionNotifications"))
    settings_page = property(lambda self: self.page("actionSettings"))

    def _connection_trouble(self, kind: str, _message: str) -> None:
        """The workspace server is lost: every change is off (with the reason) until the
        banner's probe finds it again; typed input stays in the open dialogs."""
        from .roles import OFFLINE
        self.role_gate.set_offline(OFFLINE if kind == "connection" else "")

    def _learn_member(self) -> None:
        """Who is signed in: what their role cannot do is disabled (``ui/roles.py``)."""
        from ..services.team import whoami
        from .roles import RoleGate
        self.role_gate, factory = RoleGate(self), self.ctx.uow
        self.ctx.db.troubleChanged.connect(self._connection_trouble)
        self.ctx.db.run(self, lambda: whoami(factory), self.set_member)
        if self.ctx.is_team:  # a role changed by an Owner takes effect at once
            from PySide6.QtCore import QTimer
            self._member_timer = QTimer(self, interval=MEMBER_RECHECK_MS)
            self._member_timer.timeout.connect(self.recheck_member)
            self._member_timer.start()
            if getattr(self.ctx, "live", None) is not None:  # and at once on a change
                self.ctx.live.on(("members",), self.recheck_member, owner=self)

    def recheck_member(self) -> None:
        """Who am I now (team workspaces: on activation, every 30 s, on a ``members``
        change): the role gate follows a promotion or a demotion without a restart."""
        from ..services.team import whoami
        factory = self.ctx.uow
        self.ctx.db.op(self, lambda: whoami(factory)).success(self._member_rechecked) \
            .failure(self._recheck_failed).latest("whoami", 0).run()

    def _recheck_failed(self, error: BaseException) -> None:
        from ..domain.errors import DomainError
        if isinstance(error, DomainError):  # deactivated meanwhile: say so (a lost
            self.show_error(str(error))     # connection has its own banner)

    def _member_rechecked(self, member) -> None:
        if member != self.ctx.member:
            self.set_member(member)

    def changeEvent(self, event) -> None:
        from PySide6.QtCore import QEvent
        super().changeEvent(event)
        if (event.type() == QEvent.Type.ActivationChange and self.isActiveWindow()
                and self.ctx is not None and self.ctx.is_team and self.ctx.member is not None):
            self.recheck_member()

    def set_member(self, member) -> None:
        self.ctx.member = member
        self.role_gate.set_member(member)
        self.memberKnown.emit(member)

    # -- construction -------------------------------------------------------------------
    def _build_areas(self) -> None:
        group = QActionGroup(self)
        for text, name, keys in AREAS:
            placeholder = loading_panel(text)
            self.stack.addWidget(placeholder)
            action = QAction(text, self, objectName=name, checkable=True)
            action.setShortcuts([QKeySequence(key) for key in keys])
            action.setToolTip(f"{text} ({QKeySequence(keys[0]).toString()})")
            action.triggered.connect(lambda _checked=False, a=action, n=name: self._show(a, n))
            group.addAction(action)
            self.addAction(action)  # shortcuts work whatever has focus
            self.areas[name] = (action, placeholder)
            self.sidebar.bind(name, action)
        self.areas["actionJobs"][0].setChecked(True)

    def _wire_notifications(self, page) -> None:
        action = self.areas["actionNotifications"][0]
        page.unreadChanged.connect(
            lambda n: action.setText(f"Notifications ({n})" if n > 0 else "Notifications"))
        page.unreadChanged.connect(
            lambda n: self.sidebar.set_badge("actionNotifications", n))
        page.openMilestone.connect(self.open_milestone)
        page.attention.connect(self.show_error)
        from .desktop_notices import DesktopNotices
        notices = self.desktop_notices = DesktopNotices(self.ctx, self, self.layout_memory)
        page.arrived.connect(notices.check)
        notices.openMilestone.connect(self._open_from_notice)
        notices.openList.connect(self._bring_notifications_forward)
        notices.trayActivated.connect(self._bring_forward)

    def _bring_forward(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def _bring_notifications_forward(self) -> None:
        self.show_area("actionNotifications")
        self._bring_forward()

    def _open_from_notice(self, job_id: int, contract_id: int, milestone_id: int) -> None:
        self.open_milestone(job_id, contract_id, milestone_id)
        self._bring_forward()

    def go_to_settings(self, section: str) -> None:
        """Where a refused action can be fixed: billing, plan or the Stripe key."""
        self.show_area("actionSettings")
        if section == "plan":
            self.settings_page.show_plan()
        elif section == "billing":
            self.settings_page.show_billing()
            if self.ctx.stripe is not None and self.ctx.stripe.mode is not None:
                self.settings_page.add_payment_method()

    def open_milestone(self, job_id: int, contract_id: int, milestone_id: int) -> None:
        """From a notification: the job, its contract tab, the milestone selected."""
        self.show_area("actionJobs")
        self.jobs_page.open_job(job_id, contract_id or None, milestone_id or None)

    def _show(self, action: QAction, name: str) -> None:
        action.setChecked(True)
        ready = self.ctx is not None and (self.ctx.opened or name in self.pages)
        page = self.page(name) if ready else self.areas[name][1]
        self.stack.setCurrentWidget(page)

    def show_area(self, name: str) -> None:
        self.areas[name][0].trigger()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.action_new_job = QAction("&New job…", self, objectName="actionNewJob",
                                      shortcut=QKeySequence.StandardKey.New, enabled=False)
        self.action_new_job.triggered.connect(self._new_job)
        file_menu.addAction(self.action_new_job)
        if self.open_demo is not None and not self.settings.demo:
            demo = QAction("Open &demo workspace", self, objectName="actionOpenDemo")
            demo.triggered.connect(self.open_demo)
            file_menu.addAction(demo)
        sync = QAction("&Sync now", self, objectName="actionSyncNow",
                       shortcut=QKeySequence("F5"), enabled=False)
        sync.setToolTip("Send queued payments and check Stripe for updates (F5)")
        sync.triggered.connect(lambda: self.ctx.sync.sync_now())
        file_menu.addAction(sync)
        self.addAction(sync)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, objectName="actionQuit",
                              shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        find = QAction("&Find job…", self, objectName="actionFind",
                       shortcut=QKeySequence.StandardKey.Find, enabled=False)
        find.triggered.connect(self._find)
        edit_menu.addAction(find)
        view_menu = self.menuBar().addMenu("&View")
        for action, _page in self.areas.values():
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About OpenTrain Desk", self, objectName="actionAbout")
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        self.sync_label = QLabel(objectName="syncStatusLabel")
        self.sync_label.setAccessibleName("Sync status")
        self.mode_label = QLabel(objectName="stripeModeLabel")
        self.mode_label.setProperty("role", "mode")
        self.workspace_label = QLabel(objectName="workspaceLabel")
        self.workspace_label.setText("Demo workspace" if self.settings.demo else "Workspace")
        bar = self.statusBar()
        bar.addPermanentWidget(self.workspace_label)
        bar.addPermanentWidget(self.mode_label)
        bar.addPermanentWidget(self.sync_label)
        self.sync_label.setText("Opening the workspace…")

    def _wire_status_bar(self) -> None:
        self.workspace_label.setToolTip(self.ctx.workspace_label)
        sync = self.ctx.sync
        if sync is not None:
            sync.statusChanged.connect(self._sync_status)
            sync.paymentsChanged.connect(lambda: self.jobs_page.payments_changed())
        live = getattr(self.ctx, "live", None)
        if live is not None:  # other seats' changes (team workspaces)
            live.changed.connect(lambda tables: self.jobs_page.live_changed(tables))
        self._sync_status((sync.text if sync is not None else "") or "Stripe not connected")

    def _sync_status(self, text: str) -> None:
        self.sync_label.setText(text)
        self.update_mode()

    def update_mode(self) -> None:
        """Test vs live mode is visible at all times."""
        if self.ctx is None:  # the frame: not known yet
            return
        stripe = self.ctx.stripe
        mode = stripe.mode if stripe else None
        text = ("SANDBOX" if stripe and stripe.is_sandbox else
                {"test": "TEST MODE", "live": "LIVE MODE"}.get(mode or "", "NO STRIPE KEY"))
        self.mode_label.setText(text)
        self.mode_label.setProperty("mode", mode or "none")
        self.mode_label.style().unpolish(self.mode_label)
        self.mode_label.style().polish(self.mode_label)

    # -- actions ------------------------------------------------------------------------
    def _new_job(self) -> None:
        self.show_area("actionJobs")
        self.jobs_page.new_job()

    def _find(self) -> None:
        self.show_area("actionJobs")
        self.jobs_page.focus_search()

    def _about(self) -> None:
        from ..hygiene.about import show_about
        show_about(self)

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    # -- state --------------------------------------------------------------------------
    def _restore_state(self) -> None:
        memory = self.layout_memory
        geometry = memory.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = memory.value("window/state")
        if state is not None:
            self.restoreState(state)
        from ..hygiene.palette import THEME_KEY, apply_preference
        apply_preference(memory.value(THEME_KEY) or "")

    def save_state(self) -> None:
        memory = self.layout_memory
        memory.set("window/geometry", self.saveGeometry())
        memory.set("window/state", self.saveState())
        page = self.pages.get("actionJobs")
        if page is not None:
            memory.set("jobs/splitter", page.splitter.saveState())
            memory.set("jobs/columns", page.table.horizontalHeader().saveState())
        memory.sync()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """The sidebar shows when it fits beside the area at its narrowest."""
        super().resizeEvent(event)
        self._fit_sidebar()

    def _fit_sidebar(self) -> None:
        room = self.centralWidget().width() - self.stack.minimumSizeHint().width()
        self.sidebar.setVisible(room >= SIDEBAR_MIN_WIDTH)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        super().closeEvent(event)
