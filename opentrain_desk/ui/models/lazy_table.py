"""A table model that pages rows in from SQL on a background thread.

A reload keeps what the user is on: rows are matched by ``row_key`` (the row's id), so
the selection, the current row and the scroll position survive a refresh (the view's
persistent indexes are moved to where each row now is; a row that is gone drops out of
the selection). Only a new source (other filters) starts the list afresh.

Pages are read by keyset, not OFFSET: the source is called with the last row it gave
(``page(after, limit)``), so a row inserted between two pages is never shown twice.
Follows qtbase's ``filelistmodel.cpp``: ``canFetchMore``/``fetchMore`` add one batch
at a time (``beginInsertRows(parent, start, start + n - 1)``); a fetch already in
flight makes ``canFetchMore`` false, so the view cannot re-enter while rows arrive.
"""
from __future__ import annotations

import enum
from typing import Any, Callable, Generic, Sequence, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from ..ops import Ops

Row = TypeVar("Row")
SortRole = Qt.ItemDataRole.UserRole
RowRole = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class LazyTableModel(QAbstractTableModel, Generic[Row]):
    """Subclasses set ``Columns`` (an IntEnum), ``HEADERS`` and format in ``display``."""

    Columns: type[enum.IntEnum]
    HEADERS: dict[int, str]
    PAGE_SIZE = 200
    loaded = Signal()  # after the first page or a further page arrived

    def __init__(self, ops: Ops, parent=None) -> None:
        super().__init__(parent)
        self._ops = ops
        self._columns = list(self.Columns)  # index -> member, without Enum lookups per cell
        self._rows: list[Row] = []
        self._total = 0
        self._loading = False
        self._generation = 0
        self._count: Callable[[], int] | None = None
        self._page: Callable[[Row | None, int], Sequence[Row]] | None = None
        self._fresh = False  # a new source: read one page, not as many as are loaded

    # -- source ------------------------------------------------------------------
    def set_source(self, count: Callable[[], int],
                   page: Callable[[Row | None, int], Sequence[Row]],
                   delay_ms: int = 0) -> None:
        """``count()`` and ``page(after, limit)``: up to ``limit`` rows that come after the
        row ``after`` (``None``: from the start). The rows shown so far stay until the new
        ones arrive (typing in a search box does not blank the list) and a selected row
        that is still there stays selected; sources set within ``delay_ms`` of each other
        are read once."""
        self._count, self._page, self._fresh = count, page, True
        self.reload(delay_ms)

    def clear_source(self) -> None:
        self._count = self._page = None
        self._fresh = False
        self._generation += 1
        self.beginResetModel()
        self._rows, self._total, self._loading = [], 0, False
        self.endResetModel()

    def reload(self, delay_ms: int = 0) -> None:
        """Re-read from the database, keeping as many rows as are loaded now (and the
        selection); reloads asked for within ``delay_ms`` of each other run once."""
        if self._count is None or self._page is None:
            return
        self._generation += 1
        generation, count, page = self._generation, self._count, self._page
        limit = self.PAGE_SIZE if self._fresh else max(self.PAGE_SIZE, len(self._rows))
        self._loading = True
        (self._ops.op(self, lambda: (count(), list(page(None, limit))))
         .success(lambda result: self._reset_to(generation, *result))
         .failure(lambda _error: self._fetch_failed(generation))
         .latest("reload", delay_ms).run())

    @staticmethod
    def row_key(row: Row) -> Any:
        """What identifies a row across reloads."""
        return row.id  # type: ignore[attr-defined]

    def _reset_to(self, generation: int, total: int, rows: list[Row]) -> None:
        if generation != self._generation:
            return
        self._loading = False
        total = max(total, len(rows))
        self._fresh = False
        if not self._rows:
            self.beginResetModel()
            self._rows, self._total = rows, total
            self.endResetModel()
        elif [self.row_key(r) for r in rows] == [self.row_key(r) for r in self._rows]:
            self._total = total
            if rows != self._rows:  # the same rows, some changed: update in place
                self._rows = rows
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(rows) - 1, self.columnCount() - 1))
        else:
            self._move_to(rows, total)
        self.loaded.emit()

    def _move_to(self, rows: list[Row], total: int) -> None:
        """Other rows: a layout change that keeps each persistent index on its row."""
        self.layoutAboutToBeChanged.emit()
        where = {self.row_key(row): i for i, row in enumerate(rows)}
        old_keys = [self.row_key(row) for row in self._rows]
        before = self.persistentIndexList()
        after = []
        for index in before:
            row = where.get(old_keys[index.row()], -1) if index.row() < len(old_keys) else -1
            after.append(self.createIndex(row, index.column()) if row >= 0 else QModelIndex())
        self._rows, self._total = rows, total
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def _fetch_failed(self, generation: int) -> None:
        if generation == self._generation:
            self._loading = False

    # -- lazy loading --------------------------------------------------------------
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return (not parent.isValid() and not self._loading and self._page is not None
                and len(self._rows) < self._total)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation, page = self._generation, self._page
        after = self._rows[-1] if self._rows else None
        self._ops.run(self, lambda: list(page(after, self.PAGE_SIZE)),
                      lambda rows: self._append(generation, rows),
                      lambda _error: self._fetch_failed(generation))

    def _append(self, generation: int, rows: list[Row]) -> None:
        if generation != self._generation:
            return
        self._loading = False
        if not rows:
            self._total = len(self._rows)
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()
        self.loaded.emit()

    # -- model API -------------------------------------------------------------------
    @property
    def is_loading(self) -> bool:
        return self._loading

    @property
    def total(self) -> int:
        return self._total

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.Columns)

    def row_at(self, row: int) -> Row | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, predicate: Callable[[Row], bool]) -> int:
        return next((i for i, row in enumerate(self._rows) if predicate(row)), -1)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.Columns)):
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row, column = self._rows[index.row()], self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, column)
        if role == SortRole:
            return self.sort_value(row, column)
        if role == RowRole:
            return row
        return self.extra(row, column, role)

    def display(self, row: Row, column: enum.IntEnum) -> str:
        raise NotImplementedError

    def sort_value(self, row: Row, column: enum.IntEnum) -> Any:
        return self.display(row, column)

    def extra(self, row: Row, column: enum.IntEnum, role: int) -> Any:
        return None
