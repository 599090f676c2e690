"""Where everything goes on the invoice page: an InvoiceDocument → pages of drawing ops.

Pure arithmetic on text widths (no canvas, no PDF): the result is a list of pages, each a
list of drawing ops (:mod:`.invoice_flow`) in page coordinates, drawn by
:mod:`.invoice_canvas`. The geometry is the one the earlier platypus layout produced.

The page is a column of bands — the header, the parties and facts, the line-item table,
the total, the Stripe references. Only an extremely long description runs onto more pages;
the line-item table's header then repeats on every following page. Footers
("Page 1 of N") are laid out once the page count is known (:func:`footer`).
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader

from opentrain_desk.domain.invoices import InvoiceDocument, InvoiceKind

from . import invoice_text as t
from .invoice_flow import Band, Cells, Column, Flow, Gap, Line, Logo, Text, TextLine, para
from .invoice_text import Style

__all__ = ["MARGIN_BOTTOM", "MARGIN_TOP", "MARGIN_X", "PRODUCER", "footer", "layout"]

log = logging.getLogger(__name__)

PRODUCER = "OpenTrain Desk"
MARGIN_X = 18 * mm
MARGIN_TOP = 16 * mm
MARGIN_BOTTOM = 22 * mm  # room for the footer


_LOGO_MAX_W = 42 * mm
_LOGO_MAX_H = 16 * mm


@lru_cache(maxsize=8)
def _load_logo(path: str, mtime_ns: int, size: int) -> ImageReader:
    del mtime_ns, size  # cache key only: a replaced logo file is re-read
    reader = ImageReader(path)
    reader.getSize()  # fail now (corrupt file) rather than mid-render
    return reader


def _logo(path: Path | None) -> list:
    if path is None:
        return []
    try:
        st = path.stat()
        reader = _load_logo(str(path.resolve()), st.st_mtime_ns, st.st_size)
    except Exception as exc:  # a bad logo must not stop invoicing
        log.warning("Invoice logo %s could not be loaded (%s); rendering without it.",
                    path, exc)
        return []
    iw, ih = reader.getSize()
    scale = min(_LOGO_MAX_W / iw, _LOGO_MAX_H / ih)
    return [Logo(reader, iw * scale, ih * scale), Gap(3 * mm)]


def _party(party, name_style: Style, width: float) -> list:
    items = para(party.name, name_style, width)
    for line in party.address_lines:
        if line.strip():
            items += para(line, t.BODY, width)
    if party.email:
        items += para(party.email, t.BODY, width)
    if party.tax_id:
        items += para("Tax ID: " + party.tax_id, t.SMALL, width)
    return items


def _pair(key: str, key_style: Style, key_w: float, value: str, value_style: Style,
          value_w: float, pad_top: float, pad_bottom: float, gutter: float = 0.0) -> Cells:
    return Cells(((0.0, key_w - gutter, tuple(para(key, key_style, key_w - gutter))),
                  (key_w, value_w - gutter, tuple(para(value, value_style, value_w - gutter)))),
                 pad_top, pad_bottom)


def _facts(doc: InvoiceDocument, width: float) -> list:
    status = t.META_VALUE
    colour = t.STATUS_COLOURS.get(doc.payment_status.strip().lower())
    if colour is not None:
        status = status.with_colour(colour)
    facts = [
        ("Credit note" if doc.corrects else "Invoice number", doc.number, t.META_VALUE),
        *([("Corrects", doc.corrects, t.META_VALUE)] if doc.corrects else []),
        ("Issue date", t.format_date(doc.issue_date), t.META_VALUE),
        ("Status", doc.payment_status, status),
        ("Billing type", doc.billing_type.value, t.META_VALUE),
        ("Currency", doc.currency, t.META_VALUE),
    ]
    return [_pair(k, t.META_KEY, width * 0.17, v, style, width * 0.25, 1.5, 1.5)
            for k, v, style in facts]


def _line_items(doc: InvoiceDocument, x: float, width: float) -> tuple[Band, Band]:
    pad = 6.0
    widths = (width * 0.54, width * 0.28, width * 0.18)
    lefts = (x, x + widths[0], x + widths[0] + widths[1])

    def columns(*cells) -> tuple[Column, ...]:
        return tuple(Column(left + pad, w - 2 * pad, tuple(items))
                     for left, w, items in zip(lefts, widths, cells, strict=True))

    inner = [w - 2 * pad for w in widths]
    header = Band(columns([TextLine("DESCRIPTION", t.TH)], [TextLine("PROJECT", t.TH)],
                          [TextLine("AMOUNT", t.TH_RIGHT)]),
                  pad_top=5, pad_bottom=5, fill=(x, width, t.HEADER_FILL),
                  rule=(x, x + width, 0.6, t.RULE))
    amount = t.format_usd(doc.signed_amount_cents)  # credit notes: negative
    row = Band(columns(para(doc.description, t.CELL, inner[0]),
                       para(doc.project_name, t.CELL_MUTED, inner[1]),
                       para(amount, t.CELL_RIGHT, inner[2])),
               pad_top=8, pad_bottom=9, rule=(x, x + width, 0.6, t.RULE))
    return header, row


def layout(doc: InvoiceDocument, page_size: tuple[float, float]) -> list[list]:
    """The pages of ``doc`` (without footers) as lists of drawing ops."""
    page_w, page_h = page_size
    x, width = MARGIN_X, page_w - 2 * MARGIN_X
    flow = Flow(page_h - MARGIN_TOP, MARGIN_BOTTOM)

    # Header: issuer (with logo) on the left, INVOICE title on the right.
    left_w, right_w = width * 0.58, width * 0.42
    title = "CREDIT NOTE" if doc.kind is InvoiceKind.CREDIT_NOTE else "INVOICE"
    issuer = _logo(doc.logo_path) + _party(doc.issuer, t.ISSUER_NAME, left_w)
    heading = [*para(title, t.TITLE, right_w), Gap(1 * mm),
               *para(doc.kind.label, t.SUBTITLE, right_w)]
    flow.place(Band((Column(x, left_w, tuple(issuer)),
                     Column(x + left_w, right_w, tuple(heading)))))
    flow.gap(7 * mm)
    flow.rule(x, x + width, 1.2, t.ACCENT)
    flow.gap(7 * mm)

    # Bill-to / payee on the left, invoice facts on the right.
    to_label = "PAYEE" if doc.kind is InvoiceKind.TRAINER_PAYOUT else "BILL TO"
    bill_to = [TextLine(to_label, t.LABEL), Gap(1.5 * mm),
               *_party(doc.bill_to, t.BODY_BOLD, left_w - 6 * mm)]
    flow.place(Band((Column(x, left_w - 6 * mm, tuple(bill_to)),
                     Column(x + left_w, right_w, tuple(_facts(doc, width))))))
    flow.gap(10 * mm)

    # Line items: the header row repeats on every page the row continues on.
    header, row = _line_items(doc, x, width)
    if flow.room() < header.height + min(row.height, row.pad_top + 2 * t.CELL.leading):
        flow.new_page()  # no table header alone (or with one line) at the bottom of a page
    flow.place(header)
    flow.place(row, repeat=header)

    # Total, right aligned.
    flow.gap(2 * mm)
    label_w, value_w = width * 0.22, width * 0.26
    total_x = x + width - label_w - value_w
    amount = t.format_usd(doc.signed_amount_cents)
    label = para(f"Total ({doc.currency})", t.TOTAL_LABEL, label_w - 12)
    value = para(amount, t.TOTAL_VALUE, value_w - 12)
    flow.place(Band((Column(total_x + 6, label_w - 12, tuple(label)),
                     Column(total_x + label_w + 6, value_w - 12, tuple(value))),
                    pad_top=8, pad_bottom=8, bottom_aligned=True,
                    rule=(total_x, x + width, 1.2, t.ACCENT)), keep=True)

    # Stripe references: what an accountant reconciles against, so legible when printed.
    if doc.stripe_references:
        # (12 pt: the height the earlier table gave its heading row)
        refs = [Cells(((0.0, width - 4, (TextLine("STRIPE REFERENCES", t.LABEL),)),
                       (0.0, 0.0, (Gap(12),))), 0.5, 2)]
        refs += [_pair(label, t.SMALL, width * 0.20, ref, t.SMALL, width * 0.80, 0.5, 0.5,
                       gutter=4) for label, ref in doc.stripe_references]
        band = Band((Column(x, width, tuple(refs)),))
        if flow.room() < 12 * mm + band.height:
            flow.new_page()
        else:
            flow.gap(12 * mm)
        flow.place(band, keep=True)
    return flow.pages


def footer(doc: InvoiceDocument, page_width: float, page_no: int, page_count: int) -> list:
    """The footer ops of one page: issuer and page number, rule, fine print."""
    y = MARGIN_BOTTOM - 9 * mm
    right = f"{doc.number} · Page {page_no} of {page_count}"
    right_w = t.FOOTER.width(right)
    bits = [t.plain(doc.issuer.name)] + ([t.plain(doc.issuer.email)] if doc.issuer.email else [])
    usable = page_width - 2 * MARGIN_X - right_w - 8 * mm
    fine = f"Issued with {PRODUCER}. Amounts in US dollars ({doc.currency})."
    return [
        Line(MARGIN_X, y + 4 * mm, page_width - MARGIN_X, y + 4 * mm, 0.6, t.RULE),
        Text(MARGIN_X, y, t.fit(" · ".join(bits), t.FOOTER, usable), t.FOOTER),
        Text(page_width - MARGIN_X - right_w, y, right, t.FOOTER),
        Text(MARGIN_X, y - 3.6 * mm, fine, t.FINE),
    ]
