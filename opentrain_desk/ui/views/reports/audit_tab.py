"""Reports → Audit log: who did what, when, with before → after; filter by member and by
object (kind and id); CSV export with progress on ``ctx.files``.

Rows page in lazily by keyset from the read side (``ctx.read.audit_page``), newest first.
Everyone who can read the books can read the log (Viewer, Accountant …); exporting needs
EXPORT (the role gate disables the button otherwise).
"""
from __future__ import annotations

import enum
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressDialog, QTableView, QVBoxLayout, QWidget)

from ....reports.audit_csv import export_audit_csv
from ....services.read_models import AuditFilters, AuditRow, MemberRow
from ... import formatting
from ...context import AppContext
from ...models.lazy_table import LazyTableModel
from ...ops import Op
from .common import button, debounce, show_status
from .exporter import export_message

FILTER_DELAY_MS = 250


class AuditColumn(enum.IntEnum):
    WHEN, WHO, WHAT, CHANGE = range(4)


class AuditModel(LazyTableModel[AuditRow]):
    Columns = AuditColumn
    HEADERS = {AuditColumn.WHEN: "When", AuditColumn.WHO: "Who", AuditColumn.WHAT: "What",
               AuditColumn.CHANGE: "Before → after"}

    def display(self, row: AuditRow, column: AuditColumn) -> str:
        if column is AuditColumn.WHEN:
            return formatting.moment(row.at)
        if column is AuditColumn.WHO:
            return row.who
        if column is AuditColumn.WHAT:
            return row.what
        return row.change()

    def sort_value(self, row: AuditRow, column: AuditColumn):
        return row.at if column is AuditColumn.WHEN else self.display(row, column)

    def extra(self, row: AuditRow, column: AuditColumn, role: int):
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is AuditColumn.WHO:
                return f"{row.who} (login {row.actor})"
            if column is AuditColumn.CHANGE:
                return row.change() or None
        return None


class AuditTab(QWidget):
    exported = Signal(object)  # the entry count, or the exception (cancel / error)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="auditTab")
        self.ctx = ctx
        self.model = AuditModel(ctx.db, self)
        self.table = QTableView(objectName="auditLogTable")
        self.table.setAccessibleName("Audit log")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(AuditColumn.CHANGE, QHeaderView.ResizeMode.Stretch)
        self.member_combo = QComboBox(objectName="auditMemberCombo")
        self.member_combo.setAccessibleName("Member")
        self.member_combo.addItem("Everyone", "")
        self.entity_combo = QComboBox(objectName="auditEntityCombo")
        self.entity_combo.setAccessibleName("Object")
        self.entity_combo.addItem("All objects", "")
        self.id_edit = QLineEdit(objectName="auditEntityIdEdit", placeholderText="Id")
        self.id_edit.setAccessibleName("Object id")
        self.id_edit.setMaximumWidth(90)
        self.count_label = QLabel(objectName="auditCountLabel")
        self.export_button = button("exportAuditCsvButton", "Export CSV…",
                                    "Save the audit entries in the list as CSV")
        row = QHBoxLayout()
        for text, widget in (("Member", self.member_combo), ("Object", self.entity_combo),
                             ("Id", self.id_edit)):
            row.addWidget(QLabel(f"{text}:", buddy=widget))
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.count_label)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self.member_combo.activated.connect(self.apply_filters)
        self.entity_combo.activated.connect(self.apply_filters)
        self.id_edit.textChanged.connect(
            lambda _t: debounce(ctx.db, self, "audit-id", FILTER_DELAY_MS, self.apply_filters))
        self.model.loaded.connect(self._count)
        self.export_button.clicked.connect(self._ask_export)
        self._loaded = False
        self._export: Op | None = None

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.load()

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> None:
        """The filter choices (members, object kinds), then the entries (kept selection)."""
        read = self.ctx.read
        self.ctx.db.run(self, lambda: (read.audit_actors(), read.audit_entities()),
                        lambda found: self._choices(*found))
        if self._loaded:
            self.model.reload()
        else:
            self._loaded = True
            self.apply_filters()

    def _choices(self, actors: list[MemberRow], entities: list[str]) -> None:
        _refill(self.member_combo, "Everyone",
                [(f"{a.name} ({a.login})" if a.name else a.login, a.login) for a in actors])
        _refill(self.entity_combo, "All objects", [(e, e) for e in entities])

    def filters(self) -> AuditFilters:
        text = self.id_edit.text().strip()
        return AuditFilters(actor=self.member_combo.currentData() or "",
                            entity=self.entity_combo.currentData() or "",
                            entity_id=int(text) if text.isdigit() else None)

    def apply_filters(self, *_args) -> None:
        read, filters = self.ctx.read, self.filters()
        self.model.set_source(lambda: read.count_audit(filters),
                              lambda after, limit: read.audit_page(filters, after, limit))

    def _count(self) -> None:
        self.count_label.setText(formatting.counted(self.model.total, "entry", "entries"))

    # -- export ----------------------------------------------------------------------------
    def _ask_export(self) -> None:
        exporter = self.window().findChild(QWidget, "reportsPage")
        if exporter is not None and hasattr(exporter, "exporter"):
            exporter.exporter.file_dialog(
                "exportAuditCsvFileDialog", "Export the audit log as CSV", self.export_csv,
                save_name=f"Audit log {formatting.iso_day()}.csv",
                name_filter="CSV files (*.csv)")

    def export_csv(self, path) -> None:
        """Every entry of the current filters (not only the loaded ones), with progress."""
        files, read, filters, path = self.ctx.files, self.ctx.read, self.filters(), Path(path)
        if files is None:
            return
        progress = QProgressDialog("Exporting the audit log…", "Cancel", 0, 0, self)
        progress.setObjectName("auditExportProgress")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)

        def work(p) -> int:
            return export_audit_csv(read, filters, path, p.cancel_event, p.report)
        self._export = (files.op(self, work).with_progress(lambda d, t: _step(progress, d, t))
                        .success(lambda n: self._exported(progress, n, path))
                        .failure(lambda e: self._export_failed(progress, e)).run())
        progress.canceled.connect(self._export.cancel)

    def _exported(self, progress: QProgressDialog, count: int, path: Path) -> None:
        progress.close()
        show_status(self, f"Saved {formatting.counted(count, 'entry', 'entries')} to {path}.")
        self.exported.emit(count)

    def _export_failed(self, progress: QProgressDialog, error: BaseException) -> None:
        progress.close()
        show_status(self, export_message(error))
        self.exported.emit(error)


def _step(progress: QProgressDialog, done: int, total: int) -> None:
    progress.setMaximum(total)
    progress.setValue(done)


def _refill(combo: QComboBox, everyone: str, items: list[tuple[str, str]]) -> None:
    """New choices, keeping the chosen one when it is still there."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(everyone, "")
    for text, value in items:
        combo.addItem(text, value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    combo.blockSignals(False)
