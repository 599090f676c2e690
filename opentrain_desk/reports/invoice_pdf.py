"""Render an :class:`~opentrain_desk.domain.invoices.InvoiceDocument` as a PDF.

One Letter (default) or A4 page; only an extremely long description flows onto more
pages (the line-item table header repeats, footers read "Page 1 of N").

* Unicode text via the bundled DejaVu Sans TTF (``resources/fonts``), embedded as a subset.
* Every piece of user text is XML-escaped before it reaches reportlab's Paragraph markup,
  so ``<b>``, ``&`` or ``<script>`` in a name or description print literally.
* Deterministic: reportlab invariant mode plus fixed metadata, so the same document
  always renders to the same bytes.
* Fonts, styles and logos are loaded once per process; each call only lays out one page.

Over the ~400-line guideline on purpose: the page layout (header, parties, line items,
totals, footer) is one drawing and reads best in one place; splitting it waits for the
PDF-speed rework that will restructure it anyway.
"""
from __future__ import annotations

import io
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from opentrain_desk.domain.invoices import InvoiceDocument, InvoiceKind
from opentrain_desk.domain.money import Money
from opentrain_desk.reports.files import fsync_dir, normal_permissions
from opentrain_desk.resources import resource_path

__all__ = ["PAGE_SIZES", "render_invoice_pdf", "write_invoice_pdf"]

log = logging.getLogger(__name__)

PAGE_SIZES = {"letter": LETTER, "a4": A4}

FONT_REGULAR = "OpenTrainDejaVuSans"
FONT_BOLD = "OpenTrainDejaVuSans-Bold"
_FONT_FILES = {FONT_REGULAR: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}

PRODUCER = "OpenTrain Desk"

INK = colors.HexColor("#1F2933")
MUTED = colors.HexColor("#5F6B7A")
ACCENT = colors.HexColor("#1F4E79")
RULE = colors.HexColor("#D3DAE3")
HEADER_FILL = colors.HexColor("#EEF2F7")
_STATUS_COLOURS = {
    "paid": colors.HexColor("#1B7F3B"),
    "succeeded": colors.HexColor("#1B7F3B"),
    "pending": colors.HexColor("#A15C00"),
    "processing": colors.HexColor("#A15C00"),
    "failed": colors.HexColor("#B42318"),
    "refunded": colors.HexColor("#1B7F3B"),  # a credit note's money went back: done
    "void": MUTED,
    "paid out": colors.HexColor("#1B7F3B"),
    "payout pending": colors.HexColor("#A15C00"),
    "payout failed": colors.HexColor("#B42318"),
    "refunded to employer": colors.HexColor("#A15C00"),
}

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)

MARGIN_X = 18 * mm
MARGIN_TOP = 16 * mm
MARGIN_BOTTOM = 22 * mm  # room for the footer

# --------------------------------------------------------------------------- helpers


def _format_usd(cents: int) -> str:
    """``123450`` → ``$1,234.50`` (integer cents, no floats)."""
    return Money(cents).format()


def _format_date(day) -> str:
    """Locale-independent (Qt calls setlocale, so no strftime): ``March 5, 2026``."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year:04d}"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _markup(text: str) -> str:
    """User text → safe Paragraph markup: escaped, control chars dropped, newlines kept."""
    cleaned = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return "<br/>".join(escape(line) for line in cleaned.split("\n"))


def _plain(text: str) -> str:
    """User text for canvas.drawString (no markup): one line, no control chars."""
    return " ".join(_CONTROL.sub("", text).split())


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Shorten ``text`` with an ellipsis so it fits ``width`` points."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


# --------------------------------------------------------------------------- one-time setup

_setup_lock = threading.Lock()


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    with _setup_lock:
        for name, filename in _FONT_FILES.items():
            path = resource_path("fonts", filename)
            if not path.is_file():
                raise FileNotFoundError(
                    f"Invoice font {filename} is missing; expected it at {path}."
                )
            pdfmetrics.registerFont(TTFont(name, str(path)))
        pdfmetrics.registerFontFamily(
            FONT_REGULAR, normal=FONT_REGULAR, bold=FONT_BOLD, italic=FONT_REGULAR,
            boldItalic=FONT_BOLD,
        )


@dataclass(frozen=True)
class _Styles:
    body: ParagraphStyle
    body_bold: ParagraphStyle
    issuer_name: ParagraphStyle
    small: ParagraphStyle
    title: ParagraphStyle
    subtitle: ParagraphStyle
    label: ParagraphStyle
    meta_key: ParagraphStyle
    meta_value: ParagraphStyle
    th: ParagraphStyle
    th_right: ParagraphStyle
    cell: ParagraphStyle
    cell_muted: ParagraphStyle
    cell_right: ParagraphStyle
    total_label: ParagraphStyle
    total_value: ParagraphStyle
    fine: ParagraphStyle
    fine_bold: ParagraphStyle


@lru_cache(maxsize=1)
def _styles() -> _Styles:
    _register_fonts()

    def style(name: str, **kw) -> ParagraphStyle:
        base = dict(fontName=FONT_REGULAR, fontSize=9.5, leading=13, textColor=INK,
                    splitLongWords=1, alignment=TA_LEFT)
        base.update(kw)
        return ParagraphStyle(name, **base)

    return _Styles(
        body=style("body"),
        body_bold=style("body_bold", fontName=FONT_BOLD, fontSize=10.5, leading=14),
        issuer_name=style("issuer_name", fontName=FONT_BOLD, fontSize=13, leading=17),
        small=style("small", fontSize=8.5, leading=11.5, textColor=MUTED),
        title=style("title", fontName=FONT_BOLD, fontSize=28, leading=32, textColor=ACCENT,
                    alignment=TA_RIGHT),
        subtitle=style("subtitle", fontSize=10, leading=13, textColor=MUTED,
                       alignment=TA_RIGHT),
        label=style("label", fontName=FONT_BOLD, fontSize=7.5, leading=10, textColor=MUTED),
        meta_key=style("meta_key", fontSize=9, leading=12.5, textColor=MUTED),
        meta_value=style("meta_value", fontName=FONT_BOLD, fontSize=9, leading=12.5,
                         alignment=TA_RIGHT),
        th=style("th", fontName=FONT_BOLD, fontSize=8, leading=10.5, textColor=MUTED),
        th_right=style("th_right", fontName=FONT_BOLD, fontSize=8, leading=10.5,
                       textColor=MUTED, alignment=TA_RIGHT),
        cell=style("cell", fontSize=9.5, leading=13),
        cell_muted=style("cell_muted", fontSize=9, leading=12.5, textColor=MUTED),
        cell_right=style("cell_right", fontSize=9.5, leading=13, alignment=TA_RIGHT),
        total_label=style("total_label", fontName=FONT_BOLD, fontSize=10.5, leading=14,
                          alignment=TA_RIGHT),
        total_value=style("total_value", fontName=FONT_BOLD, fontSize=13, leading=16,
                          textColor=ACCENT, alignment=TA_RIGHT),
        fine=style("fine", fontSize=7, leading=9, textColor=MUTED),
        fine_bold=style("fine_bold", fontName=FONT_BOLD, fontSize=7, leading=9,
                        textColor=MUTED),
    )


# --------------------------------------------------------------------------- logo

_LOGO_MAX_W = 42 * mm
_LOGO_MAX_H = 16 * mm


@lru_cache(maxsize=8)
def _load_logo(path: str, mtime_ns: int, size: int) -> ImageReader:
    del mtime_ns, size  # cache key only: a replaced logo file is re-read
    reader = ImageReader(path)
    reader.getSize()  # fail now (corrupt file) rather than mid-render
    return reader


def _logo_reader(path: Path | None) -> ImageReader | None:
    if path is None:
        return None
    try:
        st = path.stat()
        return _load_logo(str(path.resolve()), st.st_mtime_ns, st.st_size)
    except Exception as exc:  # a bad logo must not stop invoicing
        log.warning("Invoice logo %s could not be loaded (%s); rendering without it.",
                    path, exc)
        return None


class _Logo(Flowable):
    """A logo scaled to fit a box, keeping its aspect ratio, left aligned."""

    def __init__(self, reader: ImageReader) -> None:
        super().__init__()
        iw, ih = reader.getSize()
        scale = min(_LOGO_MAX_W / iw, _LOGO_MAX_H / ih)
        self.reader = reader
        self.width, self.height = iw * scale, ih * scale

    def wrap(self, availWidth, availHeight):  # noqa: N802 - reportlab API
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(self.reader, 0, 0, self.width, self.height, mask="auto")


# --------------------------------------------------------------------------- layout


def _table_style(commands: list) -> TableStyle:
    # Table sets each cell's font even for Paragraph cells; default would be Helvetica,
    # which would add a non-embedded font to the PDF.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT_REGULAR), *commands])


def _party_flowables(party, s: _Styles, *, name_style: ParagraphStyle) -> list:
    items = [Paragraph(_markup(party.name), name_style)]
    for line in party.address_lines:
        if line.strip():
            items.append(Paragraph(_markup(line), s.body))
    if party.email:
        items.append(Paragraph(_markup(party.email), s.body))
    if party.tax_id:
        items.append(Paragraph("Tax ID: " + _markup(party.tax_id), s.small))
    return items


def _status_style(status: str, s: _Styles) -> ParagraphStyle:
    colour = _STATUS_COLOURS.get(status.strip().lower())
    if colour is None:
        return s.meta_value
    return ParagraphStyle(f"status_{status}", parent=s.meta_value, textColor=colour)


def _story(doc: InvoiceDocument, width: float) -> list:
    s = _styles()
    story: list = []

    # Header: issuer (with logo) on the left, INVOICE title on the right.
    left: list = []
    logo = _logo_reader(doc.logo_path)
    if logo is not None:
        left += [_Logo(logo), Spacer(1, 3 * mm)]
    left += _party_flowables(doc.issuer, s, name_style=s.issuer_name)
    title = "CREDIT NOTE" if doc.kind is InvoiceKind.CREDIT_NOTE else "INVOICE"
    right = [Paragraph(title, s.title), Spacer(1, 1 * mm),
             Paragraph(escape(doc.kind.label), s.subtitle)]
    header = Table([[left, right]], colWidths=[width * 0.58, width * 0.42])
    header.setStyle(_table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]))
    story += [header, Spacer(1, 7 * mm), _Rule(width, ACCENT, 1.2), Spacer(1, 7 * mm)]

    # Bill-to / payee on the left, invoice facts on the right.
    to_label = "PAYEE" if doc.kind is InvoiceKind.TRAINER_PAYOUT else "BILL TO"
    bill_to = [Paragraph(to_label, s.label), Spacer(1, 1.5 * mm)]
    bill_to += _party_flowables(doc.bill_to, s, name_style=s.body_bold)
    facts = [
        ("Credit note" if doc.corrects else "Invoice number", escape(doc.number),
         s.meta_value),
        *([("Corrects", escape(doc.corrects), s.meta_value)] if doc.corrects else []),
        ("Issue date", _format_date(doc.issue_date), s.meta_value),
        ("Status", _markup(doc.payment_status), _status_style(doc.payment_status, s)),
        ("Billing type", escape(doc.billing_type.value), s.meta_value),
        ("Currency", escape(doc.currency), s.meta_value),
    ]
    meta = Table(
        [[Paragraph(k, s.meta_key), Paragraph(v, st)] for k, v, st in facts],
        colWidths=[width * 0.17, width * 0.25],
    )
    meta.setStyle(_table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    info = Table([[bill_to, meta]], colWidths=[width * 0.58, width * 0.42])
    info.setStyle(_table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (0, -1), 6 * mm),
        ("RIGHTPADDING", (1, 0), (1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]))
    story += [info, Spacer(1, 10 * mm)]

    # Line items.
    amount = _format_usd(doc.signed_amount_cents)  # credit notes: negative
    # (The billing type is in the block above; a column repeating it squeezed the description.)
    rows = [
        [Paragraph("DESCRIPTION", s.th), Paragraph("PROJECT", s.th),
         Paragraph("AMOUNT", s.th_right)],
        [Paragraph(_markup(doc.description), s.cell),
         Paragraph(_markup(doc.project_name), s.cell_muted),
         Paragraph(escape(amount), s.cell_right)],
    ]
    items = Table(rows, colWidths=[width * 0.54, width * 0.28, width * 0.18],
                  repeatRows=1, splitInRow=1)
    items.setStyle(_table_style([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, 0), 5),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 5),
        ("TOPPADDING", (0, 1), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 9),
    ]))
    story.append(items)

    totals = Table(
        [[Paragraph(f"Total ({escape(doc.currency)})", s.total_label),
          Paragraph(escape(amount), s.total_value)]],
        colWidths=[width * 0.22, width * 0.26],
        hAlign="RIGHT",
    )
    totals.setStyle(_table_style([
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
        ("LINEBELOW", (0, 0), (-1, -1), 1.2, ACCENT),
    ]))
    story += [Spacer(1, 2 * mm), totals]

    # Stripe references: what an accountant reconciles against, so legible when printed.
    if doc.stripe_references:
        refs = [[Paragraph("STRIPE REFERENCES", s.label), ""]]
        refs += [[Paragraph(_markup(label), s.small), Paragraph(_markup(ref), s.small)]
                 for label, ref in doc.stripe_references]
        ref_table = Table(refs, colWidths=[width * 0.20, width * 0.80], hAlign="LEFT")
        ref_table.setStyle(_table_style([
            ("SPAN", (0, 0), (-1, 0)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ("TOPPADDING", (0, 0), (-1, -1), 0.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
            ("BOTTOMPADDING", (0, 0), (-1, 0), 2),
        ]))
        story.append(KeepTogether([Spacer(1, 12 * mm), ref_table]))
    return story


class _Rule(Flowable):
    def __init__(self, width: float, colour, thickness: float) -> None:
        super().__init__()
        self.width, self.colour, self.thickness = width, colour, thickness
        self.height = thickness

    def wrap(self, availWidth, availHeight):  # noqa: N802 - reportlab API
        return self.width, self.height

    def draw(self) -> None:
        self.canv.setStrokeColor(self.colour)
        self.canv.setLineWidth(self.thickness)
        self.canv.line(0, self.thickness / 2, self.width, self.thickness / 2)


def _footer(doc: InvoiceDocument):
    """Draws the footer of one page; needs the page count, so it runs at save time."""
    issuer_bits = [_plain(doc.issuer.name)]
    if doc.issuer.email:
        issuer_bits.append(_plain(doc.issuer.email))
    left_text = " · ".join(issuer_bits)
    fine_print = f"Issued with {PRODUCER}. Amounts in US dollars ({doc.currency})."

    def draw(canv: Canvas, page_no: int, page_count: int) -> None:
        page_w = canv._pagesize[0]
        y = MARGIN_BOTTOM - 9 * mm
        canv.saveState()
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.6)
        canv.line(MARGIN_X, y + 4 * mm, page_w - MARGIN_X, y + 4 * mm)
        canv.setFillColor(MUTED)
        canv.setFont(FONT_REGULAR, 7.5)
        right = f"{doc.number} · Page {page_no} of {page_count}"
        right_w = pdfmetrics.stringWidth(right, FONT_REGULAR, 7.5)
        usable = page_w - 2 * MARGIN_X - right_w - 8 * mm
        canv.drawString(MARGIN_X, y, _fit(left_text, FONT_REGULAR, 7.5, usable))
        canv.drawRightString(page_w - MARGIN_X, y, right)
        canv.setFont(FONT_REGULAR, 6.5)
        canv.drawString(MARGIN_X, y - 3.6 * mm, fine_print)
        canv.restoreState()

    return draw


class _InvoiceCanvas(Canvas):
    """Holds pages back until save() so each footer can say "Page 1 of N"."""

    def __init__(self, *args, footer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pending: list[dict] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab API
        self._pending.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        count = len(self._pending)
        for number, state in enumerate(self._pending, start=1):
            self.__dict__.update(state)
            self._footer(self, number, count)
            Canvas.showPage(self)
        Canvas.save(self)


# --------------------------------------------------------------------------- public API


def render_invoice_pdf(doc: InvoiceDocument, *, page_size: str = "letter") -> bytes:
    """The invoice as PDF bytes. ``page_size`` is ``"letter"`` (default) or ``"a4"``.

    The same ``doc`` always yields the same bytes.
    """
    if not isinstance(doc, InvoiceDocument):
        raise TypeError("render_invoice_pdf needs an InvoiceDocument")
    try:
        pagesize = PAGE_SIZES[page_size.lower()]
    except KeyError:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES)}") from None
    _styles()  # fonts + styles, once per process

    buf = io.BytesIO()
    template = BaseDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"Invoice {doc.number}",
        author=_plain(doc.issuer.name),
        subject=f"{doc.kind.label} invoice {doc.number}",
        creator=PRODUCER,
        producer=PRODUCER,
        keywords=[doc.number, doc.series],
        invariant=1,
        initialFontName=FONT_REGULAR,
        lang="en-US",
    )
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, template.width, template.height,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    template.addPageTemplates([PageTemplate(id="invoice", frames=[frame], pagesize=pagesize)])
    template.build(_story(doc, template.width),
                   canvasmaker=partial(_InvoiceCanvas, footer=_footer(doc)))
    return buf.getvalue()


def write_invoice_pdf(doc: InvoiceDocument, path: Path, *, page_size: str = "letter") -> Path:
    """Render ``doc`` and write it to ``path`` atomically; returns ``path``.

    The PDF is rendered first, written to a temporary file in the same folder, flushed
    and fsync'ed, then moved over ``path`` with ``os.replace``. On any error the
    temporary file is removed and ``path`` is left untouched (absent, or its old content).
    """
    path = Path(path)
    data = render_invoice_pdf(doc, page_size=page_size)
    folder = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    normal_permissions(fd)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(folder)
    return path

