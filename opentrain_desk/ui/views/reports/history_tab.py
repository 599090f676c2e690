"""Reports → Payment history: filters around the shared ``PaymentHistoryView`` and its CSV
export (written by the page's ``ReportExports``)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ....domain.milestones import PayoutStatus
from ... import formatting
from ...context import AppContext
from ..history_views import PaymentHistoryView
from .common import button, date_edit, date_of, debounce
from .exporter import ReportExports

FILTER_DELAY_MS = 250


class HistoryTab(QWidget):
    def __init__(self, ctx: AppContext, exporter: ReportExports, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.exporter = ctx, exporter
        self.setObjectName("historyTab")
        self.history = PaymentHistoryView(ctx, None)
        self.export_button = button("exportHistoryCsvButton", "Export CSV…",
                                    "Save the payment history in the list as CSV")
        self.from_edit = date_edit("historyFromEdit", "Payments from")
        self.to_edit = date_edit("historyToEdit", "Payments until")
        self.trainer_edit = QLineEdit(objectName="historyTrainerEdit",
                                      placeholderText="Trainer name or email")
        self.job_edit = QLineEdit(objectName="historyJobEdit", placeholderText="Job")
        self.payout_combo = QComboBox(objectName="historyPayoutCombo")
        self.payout_combo.setAccessibleName("Payout status")
        self.payout_combo.addItem("All payouts", None)
        for status in PayoutStatus:
            self.payout_combo.addItem(status.label, status)
        dates, names = QHBoxLayout(), QHBoxLayout()
        for row, label, widget in ((dates, "From", self.from_edit),
                                   (dates, "To", self.to_edit),
                                   (dates, "Payout", self.payout_combo)):
            row.addWidget(QLabel(f"{label}:", buddy=widget))
            row.addWidget(widget)
        dates.addStretch(1)
        dates.addWidget(self.export_button)
        names.addWidget(self.trainer_edit, 1)
        names.addWidget(self.job_edit, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(dates)
        layout.addLayout(names)
        layout.addWidget(self.history, 1)

        for edit in (self.trainer_edit, self.job_edit):
            edit.textChanged.connect(self._filters_edited)
        for edit in (self.from_edit, self.to_edit):
            edit.dateChanged.connect(self._filters_edited)
        self.payout_combo.activated.connect(self.apply_filters)
        self.export_button.clicked.connect(self._ask_export)

    def _filters_edited(self, *_args) -> None:
        debounce(self.ctx.db, self, "history-filters", FILTER_DELAY_MS, self.apply_filters)

    def apply_filters(self, *_args) -> None:
        self.history.set_filters(date_from=date_of(self.from_edit),
                                 date_to=date_of(self.to_edit),
                                 trainer_text=self.trainer_edit.text().strip(),
                                 job_text=self.job_edit.text().strip(),
                                 payout_status=self.payout_combo.currentData())

    def _ask_export(self) -> None:
        self.exporter.file_dialog("exportHistoryCsvFileDialog", "Export payment history as CSV",
                                  self.export_csv,
                                  save_name=f"Payment history {formatting.iso_day()}.csv",
                                  name_filter="CSV files (*.csv)")

    def export_csv(self, path) -> None:
        """The payment history in the list (with its filters) as CSV."""
        self.exporter.export_history_csv(dict(self.history.filters), path)
