"""Text for the invoice page: styles, cleaning user text, measuring and wrapping lines.

No markup anywhere: text reaches the PDF through the canvas as plain strings, so ``<b>``,
``&`` or ``<script>`` in a name or description print literally. Wrapping follows what
reportlab's Paragraph did for the earlier renderer: runs of whitespace collapse to one
space, line breaks in the text are kept, words wider than the column are broken.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import getFont

from opentrain_desk.domain.money import Money

from .invoice_fonts import FONT_BOLD, FONT_REGULAR

__all__ = ["Style", "fit", "format_date", "format_usd", "plain", "wrap"]

INK = colors.HexColor("#1F2933")
MUTED = colors.HexColor("#5F6B7A")
ACCENT = colors.HexColor("#1F4E79")
RULE = colors.HexColor("#D3DAE3")
HEADER_FILL = colors.HexColor("#EEF2F7")
_GREEN, _AMBER, _RED = (colors.HexColor(c) for c in ("#1B7F3B", "#A15C00", "#B42318"))
STATUS_COLOURS = {
    "paid": _GREEN,
    "succeeded": _GREEN,
    "pending": _AMBER,
    "processing": _AMBER,
    "failed": _RED,
    "refunded": _GREEN,  # a credit note's money went back: done
    "void": MUTED,
    "paid out": _GREEN,
    "payout pending": _AMBER,
    "payout failed": _RED,
    "refunded to employer": _AMBER,
}

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


@dataclass(frozen=True)
class Style:
    font: str
    size: float
    leading: float
    colour: colors.Color = INK
    right: bool = False  # right aligned

    def width(self, text: str) -> float:
        return getFont(self.font).stringWidth(text, self.size)

    def with_colour(self, colour: colors.Color) -> Style:
        return Style(self.font, self.size, self.leading, colour, self.right)


def _style(size: float, leading: float, *, bold: bool = False, colour=INK,
           right: bool = False) -> Style:
    return Style(FONT_BOLD if bold else FONT_REGULAR, size, leading, colour, right)


BODY = _style(9.5, 13)
BODY_BOLD = _style(10.5, 14, bold=True)
ISSUER_NAME = _style(13, 17, bold=True)
SMALL = _style(8.5, 11.5, colour=MUTED)
TITLE = _style(28, 32, bold=True, colour=ACCENT, right=True)
SUBTITLE = _style(10, 13, colour=MUTED, right=True)
LABEL = _style(7.5, 10, bold=True, colour=MUTED)
META_KEY = _style(9, 12.5, colour=MUTED)
META_VALUE = _style(9, 12.5, bold=True, right=True)
TH = _style(8, 10.5, bold=True, colour=MUTED)
TH_RIGHT = _style(8, 10.5, bold=True, colour=MUTED, right=True)
CELL = _style(9.5, 13)
CELL_MUTED = _style(9, 12.5, colour=MUTED)
CELL_RIGHT = _style(9.5, 13, right=True)
TOTAL_LABEL = _style(10.5, 14, bold=True, right=True)
TOTAL_VALUE = _style(13, 16, bold=True, colour=ACCENT, right=True)
FOOTER = _style(7.5, 9, colour=MUTED)
FINE = _style(6.5, 8, colour=MUTED)


def format_usd(cents: int) -> str:
    """``123450`` → ``$1,234.50`` (integer cents, no floats)."""
    return Money(cents).format()


def format_date(day) -> str:
    """Locale-independent (Qt calls setlocale, so no strftime): ``March 5, 2026``."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year:04d}"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Whitespace a line may break at: all of it but the no-break spaces.
_BREAKING_SPACE = re.compile(r"[^\S\xa0\u2007\u202f]+")


def plain(text: str) -> str:
    """User text as one line: no control characters, whitespace runs collapsed."""
    return " ".join(w for w in _BREAKING_SPACE.split(_CONTROL.sub("", text)) if w)


def _break_word(word: str, style: Style, width: float) -> list[str]:
    """A word wider than ``width`` cut into pieces that fit (at least one character each)."""
    font = getFont(style.font)
    pieces, piece, used = [], "", 0.0
    for char in word:
        w = font.stringWidth(char, style.size)
        if piece and used + w > width:
            pieces.append(piece)
            piece, used = "", 0.0
        piece += char
        used += w
    return [*pieces, piece]


def _wrap_line(words: list[str], style: Style, width: float) -> list[str]:
    font, size = getFont(style.font), style.size
    whole = " ".join(words)
    if font.stringWidth(whole, size) <= width:
        return [whole]
    space = font.stringWidth(" ", size)
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for word in words:
        w = font.stringWidth(word, size)
        if current and used + space + w <= width:
            current.append(word)
            used += space + w
            continue
        if current:
            lines.append(" ".join(current))
        if w <= width:
            current, used = [word], w
        else:
            *full, last = _break_word(word, style, width)
            lines += full
            current, used = [last], font.stringWidth(last, size)
    lines.append(" ".join(current))
    return lines


def wrap(text: str, style: Style, width: float) -> list[str]:
    """``text`` as the lines that fit ``width`` points; its own line breaks are kept."""
    cleaned = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    lines: list[str] = []
    for raw in cleaned.split("\n"):
        words = [w for w in _BREAKING_SPACE.split(raw) if w]
        lines += _wrap_line(words, style, width) if words else [""]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def fit(text: str, style: Style, width: float) -> str:
    """``text`` on one line, shortened with an ellipsis if it is wider than ``width``."""
    if style.width(text) <= width:
        return text
    low, high = 0, len(text)  # longest prefix that fits with the ellipsis: binary search
    while low < high:
        mid = (low + high + 1) // 2
        if style.width(text[:mid].rstrip() + "…") <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"
