"""Jobs area: searchable job list on the left, the selected job on the right."""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSplitter, QStackedWidget, QTableView,
                               QVBoxLayout, QWidget)

from ..models.tables import JobColumn, JobsModel

if TYPE_CHECKING:  # the job view and its dialogs load once the workspace is open
    from ..context import AppContext
    from .job_view import JobView


class WelcomePanel(QWidget):
    """Shown on an empty workspace: start fresh or look at the demo."""

    def __init__(self, ctx: AppContext, new_job, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePanel")
        title = QLabel("Welcome to OpenTrain Desk")
        title.setProperty("role", "title")
        text = QLabel("Post a job, hire AI trainers and pay them in milestones. This "
                      "workspace is empty: create your first job, or open the demo "
                      "workspace to look around with realistic data.", wordWrap=True)
        create = self.create = QPushButton("Create your first job",
                                           objectName="welcomeNewJobButton")
        create.clicked.connect(new_job)
        demo = QPushButton("Open the demo workspace", objectName="openDemoButton")
        demo.setEnabled(ctx.open_demo is not None and not ctx.settings.demo)
        if ctx.open_demo is not None:
            demo.clicked.connect(ctx.open_demo)
        buttons = QHBoxLayout()
        buttons.addWidget(create)
        buttons.addWidget(demo)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addStretch()
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addLayout(buttons)
        layout.addStretch(2)


PICK_HINT = "Select a job to see its contracts and milestones."
SEARCH_DELAY_MS = 200  # typing: search once the keys pause
LIST_MIN_WIDTH = 320  # the job list stays readable whatever the window or the splitter
LIST_WIDTH = 340


class JobsPage(QWidget):
    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._select_after_load: int | None = None
        self._select_first_after_load = False
        self.setObjectName("jobsPage")
        self.search = QLineEdit(objectName="jobSearchEdit", placeholderText="Find jobs (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.show_archived = QCheckBox("Show archived", objectName="showArchivedCheck")
        self.new_job_button = QPushButton("New job", objectName="newJobButton")
        self.model = JobsModel(ctx.db, self)
        self.table = self._make_table()
        self.job_view: JobView | None = None  # made once the workspace is open
        self._open_after_ready: tuple | None = None  # open_job() asked before that
        self.welcome = WelcomePanel(ctx, self.new_job, self)
        self.pick_hint = QLabel(PICK_HINT, alignment=Qt.AlignmentFlag.AlignCenter)
        self.pick_hint.setProperty("role", "hint")
        self.right = QStackedWidget()
        for widget in (self.pick_hint, self.welcome):
            self.right.addWidget(widget)
        self.splitter = QSplitter(objectName="jobsSplitter")
        self.splitter.addWidget(self._left_panel())
        self.splitter.addWidget(self.right)
        self.splitter.setChildrenCollapsible(False)  # a drag never hides the list
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([LIST_WIDTH, 880])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._filter: tuple[str, bool] | None = None
        self.search.textChanged.connect(lambda _text: self.reload(SEARCH_DELAY_MS))
        self.search.returnPressed.connect(self.into_results)
        self.search.installEventFilter(self)
        self.show_archived.toggled.connect(self._archived_toggled)
        self.new_job_button.clicked.connect(self.new_job)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.loaded.connect(self._on_loaded)
        if ctx.opened:
            self._make_job_view()
        else:  # start-up: the first page of jobs, nothing to change until it is open
            self._writes_enabled(False)
        self.reload()

    def _writes_enabled(self, enabled: bool) -> None:
        for button in (self.new_job_button, self.welcome.create):
            button.setEnabled(enabled)

    def _make_job_view(self) -> None:
        from .job_view import JobView
        self.job_view = JobView(self.ctx, self)
        self.right.addWidget(self.job_view)
        self.job_view.changed.connect(self.reload)

    def workspace_ready(self) -> None:
        """The workspace opened behind the first page (start-up): the job view, New job,
        and what was selected or asked for meanwhile."""
        if self.job_view is not None:
            return
        self._make_job_view()
        self._writes_enabled(True)
        self.pick_hint.setText(PICK_HINT)
        self.model.reload()
        if self._open_after_ready is not None:
            self.open_job(*self._open_after_ready)
            self._open_after_ready = None
        else:
            self._on_selection()

    def _current_job(self):
        return self.job_view.job if self.job_view is not None else None

    def _make_table(self) -> QTableView:
        table = QTableView(objectName="jobsTable")
        table.setAccessibleName("Jobs")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setTabKeyNavigation(False)  # rows by arrows; Tab moves on (no keyboard trap)
        table.verticalHeader().hide()
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = table.horizontalHeader()
        header.setMinimumSectionSize(40)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(JobColumn.JOB, QHeaderView.ResizeMode.Stretch)
        metrics = header.fontMetrics()
        for column, sample in ((JobColumn.CONTRACTS, "Trainers"), (JobColumn.OPEN, "Open"),
                               (JobColumn.STATE, "Archived")):
            table.setColumnWidth(column, metrics.horizontalAdvance(sample) + 18)
        table.setColumnHidden(JobColumn.STATE, True)  # all "Active" unless archived are shown
        return table

    def _left_panel(self) -> QWidget:
        panel = QWidget(objectName="jobsListPanel")
        panel.setMinimumWidth(LIST_MIN_WIDTH)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_job_button)
        layout = QVBoxLayout(panel)
        layout.addLayout(top)
        layout.addWidget(self.show_archived)
        layout.addWidget(self.table, 1)
        return panel

    # -- behaviour ----------------------------------------------------------------------
    def _archived_toggled(self, shown: bool) -> None:
        self.table.setColumnHidden(JobColumn.STATE, not shown)
        job = self._current_job()
        if not shown and job is not None and job.archived:  # it leaves the list: close it
            self.table.clearSelection()
            self.job_view.clear()
            self.right.setCurrentWidget(self.pick_hint)
        self.reload()

    def reload(self, delay_ms: int = 0) -> None:
        """Re-read the list (the selected job stays selected); a changed search or the
        archived switch reads the list afresh."""
        wanted = (self.search.text(), self.show_archived.isChecked())
        if wanted == self._filter:
            self.model.reload(delay_ms)
            return
        self._filter = wanted
        if self._select_after_load is None and self._current_job() is not None:
            self._select_after_load = self._current_job().id
        read = self.ctx.read
        self.model.set_source(partial(read.count_jobs, *wanted),
                              partial(read.list_jobs, *wanted), delay_ms)

    def _on_loaded(self) -> None:
        if self._select_first_after_load and self.model.rowCount() > 0:
            self._select_first_after_load = False
            self.table.selectRow(0)
            return
        empty_workspace = self.model.total == 0 and not self.search.text()
        if self._select_after_load is not None and self.select_job(self._select_after_load):
            self._select_after_load = None
        elif empty_workspace and not self.show_archived.isChecked():
            self.right.setCurrentWidget(self.welcome)
        elif self.right.currentWidget() is self.welcome:
            self.right.setCurrentWidget(self.pick_hint)

    def select_job(self, job_id: int) -> bool:
        row = self.model.row_of(lambda r: r.id == job_id)
        if row < 0:
            return False
        self.table.selectionModel().select(
            self.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _on_selection(self, *_args) -> None:
        rows = self.table.selectionModel().selectedRows()
        job = self.model.row_at(rows[0].row()) if rows else None
        if job is None:
            return
        if self.job_view is None:  # start-up: shown once the workspace is open
            self.pick_hint.setText("Opening the workspace…")
            self.right.setCurrentWidget(self.pick_hint)
            return
        if self.job_view.job is None or self.job_view.job.id != job.id:
            self.job_view.show_job(job.id)
        self.right.setCurrentWidget(self.job_view)

    def open_job(self, job_id: int, contract_id: int | None = None,
                 milestone_id: int | None = None) -> None:
        """Show a job (and one of its contracts, and a milestone) whether or not it is in
        the list."""
        if self.job_view is None:  # start-up: once the workspace is open
            self._open_after_ready = (job_id, contract_id, milestone_id)
            return
        self.job_view.show_job(job_id, select_contract=contract_id,
                               select_milestone=milestone_id)
        self.right.setCurrentWidget(self.job_view)
        self.select_job(job_id)

    def new_job(self) -> None:
        if not self.ctx.opened:
            return
        from ..dialogs.forms import NewJobDialog
        dialog = NewJobDialog(self.ctx.db, self.ctx.uow, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._job_created)
        dialog.open()

    def _job_created(self, job_id: int) -> None:
        self._select_after_load = job_id
        self.search.clear()
        self.reload()

    def payments_changed(self) -> None:
        """A payment outcome arrived: refresh the visible timeline and the counts."""
        if self.job_view is not None:
            for view in self.job_view.contract_views:
                view.model.reload()
        self.model.reload()

    def live_changed(self, tables: set[str]) -> None:
        """Another seat changed something: the list (selection and scroll kept), the open
        job's header and its timelines."""
        from ..live import JOBS_TABLES, TIMELINE_TABLES
        if not tables & TIMELINE_TABLES:
            return
        if tables & JOBS_TABLES:
            self.model.reload()
        if self.job_view is None:
            return
        if "jobs" in tables or "contracts" in tables:
            self.job_view.reload()
        for view in self.job_view.contract_views:
            view.model.reload()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if (watched is self.search and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown)):
            self.into_results()
            return True
        return super().eventFilter(watched, event)

    def into_results(self) -> None:
        """Enter or Down in Find jobs: to the results, the first one selected (after the
        pending search has run)."""
        if self.model.is_loading:  # the search typed last is still to be run: now
            self._select_first_after_load = True
            self.model.reload()
        elif not self.table.selectionModel().hasSelection() and self.model.rowCount() > 0:
            self.table.selectRow(0)
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()
