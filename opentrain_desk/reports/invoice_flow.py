"""A small page flow for the invoice: bands of one-line items stacked down the page.

The page is a column of *bands*; a band is a few side-by-side :class:`Column` s of items —
:class:`TextLine` (one line of text, as a Paragraph line: baseline ``size`` below its top),
:class:`Gap`, :class:`Logo`, :class:`Cells` (a padded row of short paragraphs, never split).
:class:`Flow` places bands top down; a band that does not fit the rest of the page is split
between items (``keep``: moved to the next page instead, when that helps) and an optional
band repeats at the top of every page it continues on (a table header).

The output is plain data: per page, a list of :class:`Text`, :class:`Line`, :class:`Box` and
:class:`Picture` ops in page coordinates (points, origin bottom left).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from reportlab.lib.utils import ImageReader

from . import invoice_text as t
from .invoice_text import Style

__all__ = ["Band", "Box", "Cells", "Column", "Flow", "Gap", "Line", "Logo", "Picture", "Text",
           "TextLine", "para"]


class Text(NamedTuple):
    x: float  # left end of the baseline
    y: float
    text: str
    style: Style


class Line(NamedTuple):
    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    colour: object


class Box(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    colour: object


class Picture(NamedTuple):
    reader: ImageReader
    x: float
    y: float
    w: float
    h: float


# --------------------------------------------------------------------------- items


@dataclass(frozen=True)
class TextLine:
    """One line of text, its baseline ``style.size`` below its top (as a Paragraph's)."""
    text: str
    style: Style

    @property
    def height(self) -> float:
        return self.style.leading

    def emit(self, ops: list, x: float, top: float, width: float) -> None:
        if self.text:
            style = self.style
            left = x + width - style.width(self.text) if style.right else x
            ops.append(Text(left, top - style.size, self.text, style))


@dataclass(frozen=True)
class Gap:
    height: float

    def emit(self, ops: list, x: float, top: float, width: float) -> None:
        pass


@dataclass(frozen=True)
class Logo:
    reader: ImageReader
    w: float
    height: float

    def emit(self, ops: list, x: float, top: float, width: float) -> None:
        ops.append(Picture(self.reader, x, top - self.height, self.w, self.height))


@dataclass(frozen=True)
class Cells:
    """A row of paragraphs side by side (``(dx, width, lines)`` each), padded; not split."""
    cells: tuple
    pad_top: float
    pad_bottom: float

    @property
    def height(self) -> float:
        tallest = max(sum(line.height for line in lines) for _, _, lines in self.cells)
        return self.pad_top + tallest + self.pad_bottom

    def emit(self, ops: list, x: float, top: float, width: float) -> None:
        for dx, w, lines in self.cells:
            y = top - self.pad_top
            for line in lines:
                line.emit(ops, x + dx, y, w)
                y -= line.height


def para(text: str, style: Style, width: float) -> list[TextLine]:
    """``text`` wrapped to ``width`` as one item per line."""
    return [TextLine(line, style) for line in t.wrap(text, style, width)]


# --------------------------------------------------------------------------- bands


@dataclass(frozen=True)
class Column:
    x: float
    width: float
    items: tuple

    @property
    def height(self) -> float:
        return sum(item.height for item in self.items)


@dataclass(frozen=True)
class Band:
    columns: tuple[Column, ...]
    pad_top: float = 0.0
    pad_bottom: float = 0.0
    bottom_aligned: bool = False
    fill: tuple | None = None   # (x, width, colour) behind the band
    rule: tuple | None = None   # (x0, x1, line width, colour) along its bottom edge

    @property
    def height(self) -> float:
        return self.pad_top + max(c.height for c in self.columns) + self.pad_bottom

    def emit(self, ops: list, top: float) -> None:
        height = self.height
        if self.fill:
            x, w, colour = self.fill
            ops.append(Box(x, top - height, w, height, colour))
        inner = height - self.pad_top - self.pad_bottom
        for col in self.columns:
            y = top - self.pad_top - (inner - col.height if self.bottom_aligned else 0)
            for item in col.items:
                item.emit(ops, col.x, y, col.width)
                y -= item.height
        if self.rule:
            x0, x1, width, colour = self.rule
            ops.append(Line(x0, top - height, x1, top - height, width, colour))

    def split(self, avail: float, *, force: bool = False) -> tuple[Band | None, Band]:
        """The part that fits ``avail`` points and the rest (``force``: one item at least)."""
        room = avail - self.pad_top  # a split-off part ends at the page bottom: no padding
        heads, tails, taken = [], [], False
        for col in self.columns:
            used, n = 0.0, 0
            while n < len(col.items) and used + col.items[n].height <= room:
                used += col.items[n].height
                n += 1
            if force and n == 0 and col.items:
                n = 1
            taken = taken or n > 0
            heads.append(replace(col, items=col.items[:n]))
            tails.append(replace(col, items=col.items[n:]))
        if not taken:
            return None, self
        head = replace(self, columns=tuple(heads), pad_bottom=0.0, rule=None)
        return head, replace(self, columns=tuple(tails))


class Flow:
    """Bands stacked down the page, onto new pages as needed."""

    def __init__(self, top: float, bottom: float) -> None:
        self.top, self.bottom = top, bottom
        self.y = top
        self.pages: list[list] = [[]]

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.top

    def gap(self, height: float) -> None:
        if self.y - height < self.bottom:
            self.new_page()
        elif self.y != self.top:  # no gap at the top of a page
            self.y -= height

    def rule(self, x0: float, x1: float, thickness: float, colour) -> None:
        if self.room() < thickness:
            self.new_page()
        y = self.y - thickness / 2
        self.pages[-1].append(Line(x0, y, x1, y, thickness, colour))
        self.y -= thickness

    def room(self) -> float:
        return self.y - self.bottom

    def place(self, band: Band, *, keep: bool = False, repeat: Band | None = None) -> None:
        """``band`` at the cursor; ``keep``: onto a new page rather than split if possible;
        ``repeat``: placed first on every page the band continues on."""
        fresh = self.y == self.top  # nothing on this page yet
        while True:
            if band.height <= self.room() + 1e-6:
                band.emit(self.pages[-1], self.y)
                self.y -= band.height
                return
            # On a fresh page, split anyway (even an item taller than the page goes on it).
            head, rest = (None, band) if keep and not fresh else band.split(self.room(),
                                                                            force=fresh)
            if head is not None:
                head.emit(self.pages[-1], self.y)
                band = rest
            self.new_page()
            if repeat is not None:
                self.place(repeat)
            fresh = True
