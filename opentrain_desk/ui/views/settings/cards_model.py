"""Settings → Billing: the table model of the agency's saved payment methods (cards and
bank accounts); formatting happens only in ``data()``."""
from __future__ import annotations

import enum
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from ....services.ports import CardInfo

Index = QModelIndex | QPersistentModelIndex


class CardColumn(enum.IntEnum):
    CARD = 0
    EXPIRES = 1
    DEFAULT = 2


class CardsModel(QAbstractTableModel):
    """The agency's saved cards; formatting happens only in ``data()``."""

    HEADERS: ClassVar[dict[CardColumn, str]] = {
        CardColumn.CARD: "Card", CardColumn.EXPIRES: "Expires", CardColumn.DEFAULT: "Default"}

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._cards: list[CardInfo] = []

    def set_cards(self, cards: list[CardInfo]) -> None:
        self.beginResetModel()
        self._cards = list(cards)
        self.endResetModel()

    def card_at(self, row: int) -> CardInfo | None:
        return self._cards[row] if 0 <= row < len(self._cards) else None

    def row_of(self, card_id: str) -> int:
        return next((i for i, card in enumerate(self._cards) if card.id == card_id), -1)

    def rowCount(self, parent: Index | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._cards)

    def columnCount(self, parent: Index | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(CardColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(CardColumn)):
            return self.HEADERS[CardColumn(section)]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        card = self.card_at(index.row()) if index.isValid() else None
        if card is None:
            return None
        column = CardColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(card, column)
        if role == Qt.ItemDataRole.FontRole and card.is_default:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            default = " — the default for fundings" if card.is_default else ""
            return f"{card.label}, expires {card.expiry}{default}"
        return None

    @staticmethod
    def _display(card: CardInfo, column: CardColumn) -> str:
        if column is CardColumn.CARD:
            return card.label
        if column is CardColumn.EXPIRES:
            return card.expiry
        return "Default" if card.is_default else ""

