"""The job view: title, hire / archive, and one Contract tab per hired trainer."""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QStackedWidget, QTabWidget,
                               QVBoxLayout, QWidget)

from ...domain.errors import ArchiveRefused
from ...services import jobs as services
from ...services.read_models import ContractRow, JobRow
from ..context import AppContext
from ..dialogs.forms import EditJobDialog, HireDialog
from ..ops import user_message
from ..widgets.labels import ElidedLabel
from ..widgets.messages import confirm, inform
from .contract_view import ContractView


class JobView(QWidget):
    changed = Signal()  # the job or its counts changed: refresh the list

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.job: JobRow | None = None
        self.setObjectName("jobView")
        self.title = ElidedLabel(objectName="jobTitleLabel")
        self.title.setProperty("role", "title")
        self.state = QLabel(objectName="jobStateLabel")
        self.hire_button = QPushButton("Hire trainer…", objectName="hireButton")
        self.hire_button.setShortcut("Ctrl+H")
        self.hire_button.setToolTip("Hire a trainer and create the first milestone (Ctrl+H)")
        self.edit_button = QPushButton("Edit job…", objectName="editJobButton")
        self.edit_button.setToolTip("Change the job's title")
        self.archive_button = QPushButton("Archive job", objectName="archiveJobButton")
        self.archive_button.setToolTip("Archive once every milestone is Paid")
        self.restore_button = QPushButton("Restore job", objectName="restoreJobButton")
        self.restore_button.setToolTip("Bring this job back to the active list")
        self.restore_button.hide()
        self.tabs = QTabWidget(objectName="contractTabs")
        self.tabs.setDocumentMode(True)
        self.no_contracts = QLabel("No trainer hired yet. Use “Hire trainer…” to start a "
                                   "contract and its first milestone.", wordWrap=True,
                                   alignment=Qt.AlignmentFlag.AlignCenter)
        self.no_contracts.setProperty("role", "hint")
        self.body = QStackedWidget()
        self.body.addWidget(self.no_contracts)
        self.body.addWidget(self.tabs)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.state)
        header.addWidget(self.hire_button)
        header.addWidget(self.edit_button)
        header.addWidget(self.archive_button)
        header.addWidget(self.restore_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.body, 1)
        self.hire_button.clicked.connect(self.hire)
        self.archive_button.clicked.connect(self.archive)
        self.edit_button.clicked.connect(self.edit_job)
        self.restore_button.clicked.connect(self.restore)
        self.contract_views: list[ContractView] = []
        self.contract_view_factory = ContractView

    # -- loading ------------------------------------------------------------------------
    def show_job(self, job_id: int, select_contract: int | None = None,
                 select_milestone: int | None = None) -> None:
        read = self.ctx.read
        self.ctx.db.run(self, lambda: (read.job(job_id), read.job_contracts(job_id)),
                        lambda result: self._populate(*result, select_contract,
                                                      select_milestone))

    def reload(self, select_contract: int | None = None) -> None:
        if self.job is not None:
            current = self.current_contract()
            self.show_job(self.job.id, select_contract or (current.contract.id
                                                           if current else None))

    def _populate(self, job: JobRow | None, contracts: list[ContractRow],
                  select_contract: int | None, select_milestone: int | None = None) -> None:
        self.job = job
        if job is None:
            return
        self.title.setText(job.title)
        self.state.setText("Archived" if job.archived else "")
        self.hire_button.setEnabled(not job.archived)
        self.archive_button.setVisible(not job.archived)
        self.restore_button.setVisible(job.archived)
        if any(view.contract.job_id != job.id for view in self.contract_views):
            self._rebuild_tabs([])  # another job: start afresh
        self._sync_tabs(contracts)
        self.body.setCurrentWidget(self.tabs if contracts else self.no_contracts)
        for index, view in enumerate(self.contract_views):
            view.set_job_archived(job.archived)
            if view.contract.id == select_contract:
                self.tabs.setCurrentIndex(index)
                if select_milestone is not None:
                    view.select_when_loaded(select_milestone)

    def _sync_tabs(self, contracts: list[ContractRow]) -> None:
        """One tab per contract: new contracts get a tab, the others keep theirs (and
        what is selected in them) and re-read their timeline."""
        known = {view.contract.id: view for view in self.contract_views}
        if [c.id for c in contracts][:len(known)] != list(known):
            self._rebuild_tabs([])  # a contract went away (never in practice): afresh
            known = {}
        for view in known.values():
            view.model.reload()
        for contract in contracts[len(known):]:
            view = self.contract_view_factory(self.ctx, contract, self.tabs)
            view.changed.connect(self.changed)
            self.contract_views.append(view)
            self.tabs.addTab(view, contract.trainer_name)

    def _rebuild_tabs(self, contracts: list[ContractRow]) -> None:
        self.tabs.clear()
        for view in self.contract_views:
            view.deleteLater()
        self.contract_views = []
        self._sync_tabs(contracts)

    def current_contract(self) -> ContractView | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, ContractView) else None

    # -- actions ------------------------------------------------------------------------
    def hire(self) -> None:
        if self.job is None:
            return
        mode = self.ctx.stripe.mode if self.ctx.stripe else None
        dialog = HireDialog(self.ctx.db, self.ctx.uow, self.job.id, self.job.title,
                            self.window(), fund_mode=mode)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._hired)
        dialog.goToSettings.connect(self.window().go_to_settings)
        dialog.open()

    def edit_job(self) -> None:
        if self.job is None:
            return
        dialog = EditJobDialog(self.ctx.db, self.ctx.uow, self.job, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._restored)
        dialog.open()

    def _hired(self, result) -> None:
        if self.ctx.sync is not None:
            self.ctx.sync.wake()
        self.reload(result.contract_id)
        self.changed.emit()

    def clear(self) -> None:
        """Show no job (e.g. an archived one when archived jobs are hidden again)."""
        self.job = None
        self._rebuild_tabs([])

    def archive(self) -> None:
        """Refuse at once when milestones are unresolved; otherwise ask, then archive."""
        if self.job is None:
            return
        self._archive_candidate = self.job
        self.ctx.db.run(self, partial(services.archive_refusal, self.ctx.uow(), self.job.id),
                        self._confirm_archive)

    def _confirm_archive(self, refusal: str | None) -> None:
        job = self._archive_candidate
        if refusal:
            inform(self.window(), "archiveRefusedBox", "Cannot archive yet", refusal)
            return
        confirm(self.window(), "confirmArchiveJob", "Archive job",
                f"Archive “{job.title}”? It leaves the active list; its contracts, "
                "history and invoices stay available, and it can be restored.", "Archive",
                partial(self._archive, job.id))

    def restore(self) -> None:
        if self.job is not None:
            self.ctx.db.run(self, partial(services.restore_job, self.ctx.uow(), self.job.id),
                            self._restored)

    def _restored(self, _result=None) -> None:
        self.reload()
        self.changed.emit()

    def _archive(self, job_id: int) -> None:
        self.ctx.db.run(self, partial(services.archive_job, self.ctx.uow(), job_id),
                        self._restored, self._archive_failed)

    def _archive_failed(self, error: BaseException) -> None:
        title = "Cannot archive yet" if isinstance(error, ArchiveRefused) else "Archive failed"
        inform(self.window(), "archiveRefusedBox", title, user_message(error))
