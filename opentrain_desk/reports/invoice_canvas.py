"""Laid-out invoice pages → PDF bytes, through reportlab's canvas.

* Deterministic: invariant mode and fixed metadata, so the same pages give the same bytes.
* Text is drawn as plain strings (never markup), one text object per run of text ops.
* Streams are Flate-compressed and written binary: reportlab's default also wraps each page
  and image stream in ASCII85, which costs a quarter more bytes and a pure-Python encoding
  pass per page. ``rl_config.useA85`` is a process-wide reportlab setting, so it is switched
  off only while an invoice is rendered (under a lock) and restored afterwards.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from .invoice_fonts import FONT_REGULAR, register_fonts
from .invoice_flow import Box, Line, Picture, Text
from .invoice_layout import PRODUCER

__all__ = ["PdfInfo", "binary_streams", "render_pages"]

_render_lock = threading.RLock()


@contextmanager
def binary_streams():
    """reportlab writes Flate streams without the ASCII85 wrapper while this is active."""
    with _render_lock:
        before = rl_config.useA85
        rl_config.useA85 = 0
        try:
            yield
        finally:
            rl_config.useA85 = before


class PdfInfo:
    """Document metadata (the same for the same invoice: no dates, invariant mode)."""

    def __init__(self, title: str, author: str, subject: str, keywords: Sequence[str]) -> None:
        self.title, self.author, self.subject = title, author, subject
        self.keywords = list(keywords)

    def apply(self, canv: Canvas) -> None:
        canv.setTitle(self.title)
        canv.setAuthor(self.author)
        canv.setSubject(self.subject)
        canv.setCreator(PRODUCER)
        canv.setProducer(PRODUCER)
        canv.setKeywords(self.keywords)


class _Painter:
    """Draws ops on one canvas, skipping colour/line-width changes that change nothing."""

    def __init__(self, canv: Canvas) -> None:
        self.canv = canv
        self.fill = self.stroke = self.line_width = None
        self.text = None  # the open text object
        self.font = None

    def _fill(self, colour, target) -> None:
        if colour != self.fill:
            target.setFillColor(colour)
            self.fill = colour

    def flush(self) -> None:
        if self.text is not None:
            self.canv.drawText(self.text)
            self.text = None

    def draw_text(self, op: Text) -> None:
        if self.text is None:
            self.text = self.canv.beginText()
            self.font = None
        style = op.style
        if (style.font, style.size) != self.font:
            self.text.setFont(style.font, style.size)
            self.font = (style.font, style.size)
        self._fill(style.colour, self.text)
        self.text.setTextOrigin(op.x, op.y)
        self.text.textOut(op.text)

    def draw(self, op) -> None:
        if isinstance(op, Text):
            self.draw_text(op)
            return
        self.flush()
        canv = self.canv
        if isinstance(op, Line):
            if op.colour != self.stroke:
                canv.setStrokeColor(op.colour)
                self.stroke = op.colour
            if op.width != self.line_width:
                canv.setLineWidth(op.width)
                self.line_width = op.width
            canv.line(op.x0, op.y0, op.x1, op.y1)
        elif isinstance(op, Box):
            self._fill(op.colour, canv)
            canv.rect(op.x, op.y, op.w, op.h, stroke=0, fill=1)
        elif isinstance(op, Picture):
            canv.drawImage(op.reader, op.x, op.y, op.w, op.h, mask="auto")
        else:  # pragma: no cover - a new op type without drawing code
            raise TypeError(f"cannot draw {op!r}")

    def end_page(self) -> None:
        self.flush()
        self.canv.showPage()
        self.fill = self.stroke = self.line_width = None  # a new page starts afresh


def render_pages(pages: list[list], page_size: tuple[float, float], info: PdfInfo,
                 footer: Callable[[int, int], list]) -> bytes:
    """The PDF of ``pages`` (lists of ops); ``footer(page_no, page_count)`` adds each
    page's footer ops."""
    register_fonts()
    buf = io.BytesIO()
    with binary_streams():
        canv = Canvas(buf, pagesize=page_size, invariant=1, pageCompression=1,
                      initialFontName=FONT_REGULAR, lang="en-US")
        info.apply(canv)
        painter = _Painter(canv)
        count = len(pages)
        for number, ops in enumerate(pages, start=1):
            for op in ops:
                painter.draw(op)
            for op in footer(number, count):
                painter.draw(op)
            painter.end_page()
        canv.save()
    return buf.getvalue()
