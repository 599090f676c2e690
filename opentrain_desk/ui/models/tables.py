"""Concrete table models: columns are IntEnums, formatting happens only in ``display``."""
from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import Qt

from ...domain.milestones import MilestoneStatus, PayoutStatus
from ...services.read_models import JobRow, MilestoneRow
from .. import formatting as fmt
from .lazy_table import LazyTableModel

StatusRole = Qt.ItemDataRole.UserRole + 2  # the enum behind a badge column


class JobColumn(enum.IntEnum):
    JOB = 0
    CONTRACTS = 1
    OPEN = 2
    STATE = 3


class JobsModel(LazyTableModel[JobRow]):
    Columns = JobColumn
    PAGE_SIZE = 100  # four screens of jobs; the first page is on screen the sooner
    HEADERS = {JobColumn.JOB: "Job", JobColumn.CONTRACTS: "Trainers",
               JobColumn.OPEN: "Open", JobColumn.STATE: "State"}

    def display(self, row: JobRow, column: JobColumn) -> str:
        if column is JobColumn.JOB:
            return row.title
        if column is JobColumn.CONTRACTS:
            return str(row.contracts)
        if column is JobColumn.OPEN:
            return str(row.open_milestones)
        return "Archived" if row.archived else "Active"

    def sort_value(self, row: JobRow, column: JobColumn) -> Any:
        return {JobColumn.CONTRACTS: row.contracts, JobColumn.OPEN: row.open_milestones}.get(
            column, self.display(row, column))

    def extra(self, row: JobRow, column: JobColumn, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (JobColumn.CONTRACTS,
                                                                    JobColumn.OPEN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{row.title}\n{row.contracts} trainer(s), {row.open_milestones} "
                    "milestone(s) not yet paid")
        return None


class MilestoneColumn(enum.IntEnum):
    MILESTONE = 0
    AMOUNT = 1
    DUE = 2
    STATUS = 3
    PAYOUT = 4


class MilestonesModel(LazyTableModel[MilestoneRow]):
    """The milestone timeline of one contract."""

    Columns = MilestoneColumn
    HEADERS = {MilestoneColumn.MILESTONE: "Milestone", MilestoneColumn.AMOUNT: "Amount",
               MilestoneColumn.DUE: "Due", MilestoneColumn.STATUS: "Status",
               MilestoneColumn.PAYOUT: "Payout"}

    def display(self, row: MilestoneRow, column: MilestoneColumn) -> str:
        if column is MilestoneColumn.MILESTONE:
            return row.title
        if column is MilestoneColumn.AMOUNT:
            return fmt.money(row.amount_cents)
        if column is MilestoneColumn.DUE:
            return fmt.day(row.due_date)
        if column is MilestoneColumn.STATUS:
            return status_text(row)
        return row.payout_status.label

    def sort_value(self, row: MilestoneRow, column: MilestoneColumn) -> Any:
        return {MilestoneColumn.AMOUNT: row.amount_cents,
                MilestoneColumn.DUE: row.due_date.isoformat() if row.due_date else "",
                MilestoneColumn.STATUS: list(MilestoneStatus).index(row.status),
                MilestoneColumn.PAYOUT: list(PayoutStatus).index(row.payout_status),
                }.get(column, self.display(row, column))

    def extra(self, row: MilestoneRow, column: MilestoneColumn, role: int) -> Any:
        if role == StatusRole:
            return {MilestoneColumn.STATUS: DISPUTED if row.disputed else row.status,
                    MilestoneColumn.PAYOUT: row.payout_status}.get(column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is MilestoneColumn.AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.status_note or row.description or None
        return None


#: The Status badge of a milestone whose charge is disputed (not a lifecycle state).
DISPUTED = "disputed"


def status_text(row: MilestoneRow) -> str:
    """Status label with its qualifier, e.g. ``Funding (queued offline)``."""
    qualifier = row.status_qualifier
    return f"{row.status_label} ({qualifier})" if qualifier else row.status_label
