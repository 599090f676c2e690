"""One contract tab: trainer, milestone timeline and the actions on a milestone."""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTabWidget, QTableView, QVBoxLayout, QWidget)

from ...domain.milestones import Action, MilestoneStatus, PayoutStatus, allowed_actions
from ...services import jobs as services
from ...services.read_models import ContractRow, MilestoneRow
from .. import formatting as fmt
from ..context import AppContext
from ..dialogs.forms import MilestoneDialog, RequestChangesDialog, SubmissionDialog
from ..models.tables import MilestoneColumn, MilestonesModel, status_text
from ..widgets.badges import BadgeDelegate
from ..widgets.flow_layout import flow_container
from ..widgets.labels import ElidedLabel, action_button, breakable, wrapping_label
from ..widgets.messages import confirm
from .funding_actions import FundingActions
from .money_actions import MoneyActions
from .payout_actions import PayoutActions, TrainerPayoutBar


class ContractView(QWidget):
    changed = Signal()  # something in this contract changed (job counts may too)

    def __init__(self, ctx: AppContext, contract: ContractRow, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.contract = ctx, contract
        self._pending_select: int | None = None
        self._sourced = False
        self.setObjectName(f"contractView{contract.id}")
        self.model = MilestonesModel(ctx.db, self)
        self.table = self._make_table()
        self.summary = QLabel(objectName="contractSummaryLabel")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.detail = wrapping_label("milestoneDetailLabel", role="hint")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self._job_archived = False
        self.buttons = {
            "add": action_button("addMilestoneButton", "Add milestone", "Add a milestone (Ctrl+M)"),
            "edit": action_button("editMilestoneButton", "Edit", "Edit a Not Funded milestone"),
            "delete": action_button("deleteMilestoneButton", "Delete",
                              "Delete a Not Funded milestone"),
            "submit": action_button("recordSubmissionButton", "Record submission",
                              "The trainer marked this milestone complete"),
            "changes": action_button("requestChangesButton", "Request changes",
                               "Send the milestone back to the trainer with a note"),
        }
        self.buttons["add"].setShortcut("Ctrl+M")
        self._layout()
        self._connect()
        self.funding = FundingActions(self) if ctx.stripe is not None else None
        self.payouts = PayoutActions(self)
        self.money = MoneyActions(self) if ctx.stripe is not None else None
        self.payout_bar = TrainerPayoutBar(ctx, contract.trainer_id, self)
        self.layout().insertWidget(1, self.payout_bar)
        self._add_sections()
        self._update_actions()

    def showEvent(self, event) -> None:
        # Tabs load their timeline when first shown, not when the job opens.
        if not self._sourced:
            self._sourced = True
            read, contract_id = self.ctx.read, self.contract.id
            self.model.set_source(partial(read.count_milestones, contract_id),
                                  partial(read.milestone_page, contract_id))
        super().showEvent(event)

    def _make_table(self) -> QTableView:
        table = QTableView(objectName="milestoneTable")
        table.setAccessibleName("Milestone timeline")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        table.setShowGrid(False)
        table.setWordWrap(False)
        badge = BadgeDelegate(table)
        table.setItemDelegateForColumn(MilestoneColumn.STATUS, badge)
        table.setItemDelegateForColumn(MilestoneColumn.PAYOUT, badge)
        header = table.horizontalHeader()
        header.setMinimumSectionSize(60)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(MilestoneColumn.MILESTONE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((MilestoneColumn.AMOUNT, 95), (MilestoneColumn.DUE, 100),
                              (MilestoneColumn.STATUS, 165), (MilestoneColumn.PAYOUT, 165)):
            table.setColumnWidth(column, width)
        memory = self.ctx.extras.get("layout")
        if memory is not None:
            memory.track_header(header, "jobs/milestoneColumns")
        return table

    def _layout(self) -> None:
        trainer = ElidedLabel(f"{self.contract.trainer_name}  ·  {self.contract.trainer_email}"
                              f"  ·  hired {fmt.day(self.contract.hired_on)}",
                              objectName="contractTrainerLabel")
        top = QHBoxLayout()
        top.addWidget(trainer, 1)
        top.addWidget(self.summary)
        actions_row, actions = flow_container()
        actions_row.setObjectName("milestoneActions")
        for key in ("add", "edit", "delete", "submit", "changes"):
            actions.addWidget(self.buttons[key])
        self.actions_layout = actions
        timeline = QWidget(objectName="timelinePage")
        timeline_layout = QVBoxLayout(timeline)
        timeline_layout.setContentsMargins(0, 4, 0, 0)
        timeline_layout.addWidget(actions_row)
        timeline_layout.addWidget(self.table, 1)
        timeline_layout.addWidget(self.detail)
        self.sections = QTabWidget(objectName="contractSections")
        self.sections.setDocumentMode(True)
        self.sections.addTab(timeline, "Milestone timeline")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.sections, 1)

    def _add_sections(self) -> None:
        """Payment history and the trainer's message log, built when first opened."""
        self.history = self.messages = None
        for title in ("Payment history", "Messages to trainer"):
            self.sections.addTab(QWidget(), title)
        self.sections.currentChanged.connect(self._open_section)

    def _open_section(self, index: int) -> None:
        from .history_views import PaymentHistoryView
        from .trainer_messages import TrainerMessagesView
        if index == 1 and self.history is None:
            self.history = PaymentHistoryView(self.ctx, self.contract.id, self)
            self._replace_tab(1, self.history, "Payment history")
        elif index == 2 and self.messages is None:
            self.messages = TrainerMessagesView(self.ctx, self.contract.trainer_id,
                                                self.contract.trainer_email, self)
            self._replace_tab(2, self.messages, "Messages to trainer")

    def _replace_tab(self, index: int, widget: QWidget, title: str) -> None:
        placeholder = self.sections.widget(index)
        self.sections.blockSignals(True)
        self.sections.removeTab(index)
        self.sections.insertTab(index, widget, title)
        self.sections.setCurrentIndex(index)
        self.sections.blockSignals(False)
        placeholder.deleteLater()

    def add_action_button(self, button: QPushButton, trailing: bool = False) -> None:
        """Capabilities add buttons after Edit / Delete, or (``trailing``) at the end."""
        if trailing:
            self.actions_layout.addWidget(button)
            return
        self.actions_layout.insertWidget(self._inserted + 3, button)
        self._inserted += 1

    _inserted = 0

    def _connect(self) -> None:
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.loaded.connect(self._on_loaded)
        self.buttons["add"].clicked.connect(self.add_milestone)
        self.buttons["edit"].clicked.connect(self.edit_milestone)
        self.buttons["delete"].clicked.connect(self.delete_milestone)
        self.buttons["submit"].clicked.connect(self.record_submission)
        self.buttons["changes"].clicked.connect(self.request_changes)

    # -- state ------------------------------------------------------------------------
    def selected(self) -> MilestoneRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select_milestone(self, milestone_id: int) -> bool:
        row = self.model.row_of(lambda r: r.id == milestone_id)
        if row < 0:
            return False
        self.table.selectionModel().select(
            self.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def select_when_loaded(self, milestone_id: int) -> None:
        """Select a milestone now, or as soon as the timeline has loaded it."""
        if not self.select_milestone(milestone_id):
            self._pending_select = milestone_id

    def _on_loaded(self) -> None:
        total = self.model.total
        self.summary.setText(fmt.counted(total, "milestone"))
        if self._pending_select is not None and self.select_milestone(self._pending_select):
            self._pending_select = None
        self._update_actions()

    def refresh(self, select_id: int | None = None) -> None:
        """Re-read the timeline; the selection stays (or moves to ``select_id``)."""
        if select_id is not None:
            self._pending_select = select_id
        self.model.reload()
        self.changed.emit()

    def _update_actions(self, *_args) -> None:
        milestone = self.selected()
        allowed = allowed_actions(milestone.status) if milestone else frozenset()
        not_funded = milestone is not None and milestone.status is MilestoneStatus.NOT_FUNDED
        self.buttons["edit"].setEnabled(not_funded)
        self.buttons["delete"].setEnabled(not_funded)
        self.buttons["submit"].setEnabled(Action.SUBMIT in allowed)
        self.buttons["changes"].setEnabled(Action.REQUEST_CHANGES in allowed)
        self.buttons["add"].setEnabled(not self._job_archived)
        self.detail.setText(breakable(_describe(milestone)) if milestone else
                            "Select a milestone to see its details and actions.")
        self.selection_changed(milestone)

    def set_job_archived(self, archived: bool) -> None:
        """An archived job takes no new milestones (restore it first)."""
        self._job_archived = archived
        self.buttons["add"].setToolTip("This job is archived: restore it to add milestones"
                                       if archived else "Add a milestone (Ctrl+M)")
        self._update_actions()

    def selection_changed(self, milestone: MilestoneRow | None) -> None:
        for actions in (getattr(self, "funding", None), getattr(self, "payouts", None),
                        getattr(self, "money", None)):
            if actions is not None:
                actions.update(milestone)

    def payout_bar_reload(self) -> None:
        self.payout_bar.reload()

    # -- actions ----------------------------------------------------------------------
    def _open(self, dialog) -> None:
        dialog.saved.connect(lambda result: self.refresh(
            result if isinstance(result, int) else None))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def add_milestone(self) -> None:
        self._open(MilestoneDialog(self.ctx.db, self.ctx.uow, self.contract.id,
                                   parent=self.window()))

    def edit_milestone(self) -> None:
        if milestone := self.selected():
            self._open(MilestoneDialog(self.ctx.db, self.ctx.uow, self.contract.id,
                                       milestone, parent=self.window()))

    def record_submission(self) -> None:
        if milestone := self.selected():
            self._open(SubmissionDialog(self.ctx.db, self.ctx.uow, milestone,
                                        parent=self.window()))

    def request_changes(self) -> None:
        if milestone := self.selected():
            self._open(RequestChangesDialog(self.ctx.db, self.ctx.uow, milestone,
                                            parent=self.window()))

    def delete_milestone(self) -> None:
        milestone = self.selected()
        if milestone is None:
            return
        confirm(self.window(), "confirmDeleteMilestone", "Delete milestone",
                f"Delete “{milestone.title}” ({fmt.money(milestone.amount_cents)})? "
                "It has not been funded, so no money is involved.", "Delete",
                partial(self._delete, milestone.id))

    def _delete(self, milestone_id: int) -> None:
        self.ctx.db.run(self, partial(services.delete_milestone, self.ctx.uow(), milestone_id),
                        lambda _result: self.refresh())


def _describe(m: MilestoneRow) -> str:
    parts = [f"{m.title} — {fmt.money(m.amount_cents)} — {status_text(m)}"]
    if m.description:
        parts.append(_clip(m.description))
    if m.status is MilestoneStatus.PENDING_APPROVAL or m.submission_note or m.deliverable_url:
        if m.submission_note:
            parts.append(f"Trainer's note: {_clip(m.submission_note)}")
        if m.deliverable_url:
            parts.append(f"Deliverable: {m.deliverable_url}")
    if m.status_note:
        parts.append(f"Note: {m.status_note}")
    if funding := _funding_line(m):
        parts.append(funding)
    if payout := _payout_line(m):
        parts.append(payout)
    return "\n".join(parts)


def _funding_line(m: MilestoneRow) -> str:
    """Why a funding is taking long, and what the employer can (not) do about it."""
    if m.funding_set_aside:
        return (f"Payment needs attention: {m.operation_message} Open Reports → Check "
                "against Stripe to adopt or refund the charge.")
    if m.funding_being_checked:
        return ("Payment: Stripe may already have charged it (its answer was lost). The app "
                "is checking with Stripe; until then the funding cannot be cancelled or "
                "changed, so it is never charged twice.")
    return ""


def _clip(text: str, limit: int = 600) -> str:
    """The details pane shows the start of a long description (Edit shows all of it)."""
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _payout_line(m: MilestoneRow) -> str:
    """What happened to the released funds, and what (if anything) the employer can do."""
    reason = f" ({m.payout_error.rstrip('.')})" if m.payout_error else ""
    if m.payout_status is PayoutStatus.PENDING_SETUP:
        return ("Payout: waiting for the trainer to finish their payout setup; it is sent "
                "automatically once Stripe enables payouts.")
    if m.payout_status is PayoutStatus.PENDING_RETRY:
        return f"Payout: Stripe could not take it yet{reason}; retried automatically."
    if m.payout_status is PayoutStatus.FAILED:
        return (f"Payout failed{reason}. Check the trainer's payout account and your Stripe "
                "balance, then contact Stripe support if it persists.")
    return ""
