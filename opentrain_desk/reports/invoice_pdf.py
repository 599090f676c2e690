"""Render an :class:`~opentrain_desk.domain.invoices.InvoiceDocument` as a PDF.

One Letter (default) or A4 page; only an extremely long description flows onto more
pages (the line-item table header repeats, footers read "Page 1 of N").

* Unicode text via the bundled DejaVu Sans TTF (``resources/fonts``), embedded as a subset
  of just the glyphs used, without hinting or the licence text (:mod:`.invoice_fonts`).
* User text is drawn as plain strings, never parsed as markup, so ``<b>``, ``&`` or
  ``<script>`` in a name or description print literally (:mod:`.invoice_text`).
* Laid out by :mod:`.invoice_layout` (plain arithmetic on text widths; no platypus) and
  drawn by :mod:`.invoice_canvas`.
* Deterministic: reportlab invariant mode plus fixed metadata, so the same document
  always renders to the same bytes.
* Fonts and logos are loaded once per process.
"""
from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path

from reportlab.lib.pagesizes import A4, LETTER

from opentrain_desk.domain.invoices import InvoiceDocument
from opentrain_desk.reports.files import fsync_dir, normal_permissions

from .invoice_canvas import PdfInfo, render_pages
from .invoice_fonts import register_fonts
from .invoice_layout import footer, layout
from .invoice_text import plain

__all__ = ["PAGE_SIZES", "render_invoice_pdf", "write_invoice_pdf"]

PAGE_SIZES = {"letter": LETTER, "a4": A4}


# --------------------------------------------------------------------------- public API


def render_invoice_pdf(doc: InvoiceDocument, *, page_size: str = "letter") -> bytes:
    """The invoice as PDF bytes. ``page_size`` is ``"letter"`` (default) or ``"a4"``.

    The same ``doc`` always yields the same bytes.
    """
    if not isinstance(doc, InvoiceDocument):
        raise TypeError("render_invoice_pdf needs an InvoiceDocument")
    try:
        size = PAGE_SIZES[page_size.lower()]
    except KeyError:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES)}") from None
    register_fonts()  # once per process: text widths need the fonts
    info = PdfInfo(title=f"Invoice {doc.number}", author=plain(doc.issuer.name),
                   subject=f"{doc.kind.label} invoice {doc.number}",
                   keywords=[doc.number, doc.series])
    return render_pages(layout(doc, size), size, info,
                        partial(footer, doc, size[0]))


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

