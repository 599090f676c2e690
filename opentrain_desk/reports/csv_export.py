"""CSV exports for accountants: the invoice list, the payment history, any table.

    the target as it was; the error is an :class:`ExportError` whose text is safe to
    show. Frozen (PyInstaller) builds must call ``multiprocessing.freeze_support()`` first
    thing in ``main`` for the spawned workers.

CSV
    UTF-8 *with* a byte-order mark (``utf-8-sig``): Excel, where most accountants open a
    CSV first, otherwise decodes it as the local ANSI code page and mangles accented names;
    accounting imports (Xero, QuickBooks, pandas with ``utf-8-sig``) accept the BOM. RFC 4180
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..domain.invoices import InvoiceKind
from ..domain.money import Money
from .export_common import CANCELLED, ExportCancelled, reads, user_error
from .files import fsync_dir, normal_permissions

__all__ = ["HISTORY_CSV_HEADER", "INVOICE_CSV_HEADER", "csv_cell", "csv_line",
           "export_history_csv", "export_invoices_csv", "history_csv_row", "invoice_csv_row",
           "neutralise", "write_csv", "write_history_csv", "write_invoices_csv"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> str:
    """A cell that a spreadsheet will not evaluate: ``=SUM(A1)`` → ``'=SUM(A1)``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEEDS_QUOTES = re.compile('[,;"\r\n]')


def csv_cell(value: Any) -> str:
    """One cell as written: control characters removed, formulas neutralised, and quoted
    (RFC 4180) when it holds ``,`` ``;`` ``"`` or a line break."""
    text = neutralise(_CONTROL.sub("", "" if value is None else str(value)))
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(cells: Iterable[Any]) -> str:
    return ",".join(csv_cell(cell) for cell in cells) + "\r\n"


def _plain(cents: int | None) -> str:
    return "" if cents is None else Money(cents).plain()


def _iso_local_date(value: datetime | None) -> str:
    return value.astimezone().date().isoformat() if value else ""


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]],
              cancel: threading.Event | None = None) -> int:
    """Write a CSV atomically (temp file, fsync, ``os.replace``); returns the data rows.

    Every cell goes through :func:`csv_cell`."""
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        normal_permissions(fd)
    except OSError as exc:
        raise user_error(exc, path.parent) from exc
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(csv_line(header))
            for row in rows:
                if cancel is not None and cancel.is_set():
                    raise ExportCancelled(CANCELLED)
                fh.write(csv_line(row))
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise user_error(exc, path.parent) from exc
        raise
    fsync_dir(path.parent)
    return count


INVOICE_CSV_HEADER = ("Number", "Issue date", "Invoice type", "Billing type", "Project",
                      "Description", "Bill to / payee", "Amount", "Currency", "Status",
                      "Stripe references")


def _kind_label(prefix: str) -> str:
    try:
        return InvoiceKind.from_prefix(prefix).label
    except Exception:  # noqa: BLE001 - an unknown prefix exports as itself
        return prefix


def invoice_csv_row(row) -> list[str]:
    """One ``reports_queries.InvoiceRow`` as CSV cells (before neutralising)."""
    refs = "; ".join(f"{label}: {ref}" for label, ref in row.stripe_refs)
    return [row.number, row.issue_date.isoformat(), _kind_label(row.kind), row.billing_type,
            row.project_name, row.description, row.bill_to_name, _plain(row.amount_cents),
            row.currency, row.payment_status, refs]


def write_invoices_csv(rows: Iterable, path: Path,
                       cancel: threading.Event | None = None) -> int:
    return write_csv(path, INVOICE_CSV_HEADER, (invoice_csv_row(r) for r in rows), cancel)


def export_invoices_csv(source, filters, path: Path, *, sort: str = "date",
                        descending: bool = True, cancel: threading.Event | None = None) -> int:
    """The filtered invoice list (every row, in view order, read by keyset) as CSV, from
    ``source`` (the read side, or an engine); returns the row count."""
    rows = reads(source).iter_invoices(filters, sort=sort, descending=descending)
    return write_invoices_csv(rows, path, cancel)


HISTORY_CSV_HEADER = ("Milestone", "Job", "Trainer", "Amount", "Currency", "Funded",
                      "Approved", "Approved by", "Milestone status", "Payout status",
                      "PaymentIntent", "Charge", "Transfer")


def history_csv_row(row) -> list[str]:
    """One ``history_queries.PaymentHistoryRow``; dates are the local calendar day, as the
    payment history view shows them."""
    return [row.milestone_title, row.job_title, row.trainer_name, _plain(row.amount_cents),
            "USD", _iso_local_date(row.funded_at), _iso_local_date(row.approved_at),
            row.approved_by or "", row.status.label, row.payout_status.label,
            row.payment_intent_id or "", row.charge_id or "", row.transfer_id or ""]


def write_history_csv(rows: Iterable, path: Path,
                      cancel: threading.Event | None = None) -> int:
    return write_csv(path, HISTORY_CSV_HEADER, (history_csv_row(r) for r in rows), cancel)


def _history_rows(source, filters: dict, batch: int = 1000) -> Iterator:
    after = None
    while True:  # keyset: a row added while exporting never shows twice
        page = source.payment_history(after=after, limit=batch, **filters)
        yield from page
        if len(page) < batch:
            return
        after = page[-1]


def export_history_csv(source, path: Path, cancel: threading.Event | None = None,
                       **filters: Any) -> int:
    """Payment history (``history_queries.payment_history`` filters) as CSV, from
    ``source`` (the read side, or an engine)."""
    return write_history_csv(_history_rows(reads(source), filters), path, cancel)
