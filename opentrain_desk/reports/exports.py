"""Exports for accountants: invoice PDFs in bulk (a folder or one ZIP) and CSV tables.

No Qt here: the Reports view runs these functions on a background thread and passes a
``progress(done, total)`` callback (called on that thread) and a ``threading.Event`` to
cancel.

PDFs in bulk
    Rendering is CPU-bound (~10 ms a page), so a bulk export renders in worker *processes*
    (``ProcessPoolExecutor`` with the ``spawn`` start method, one worker per usable core)
    in chunks of a few invoices; the calling thread writes what comes back. Small exports
    (``IN_PROCESS_LIMIT`` invoices or fewer) render in the calling thread: starting the
    workers would cost more than it saves. Everything is written into a temporary location
    next to the target first and moved into place only once every PDF is there:

    * folder: a hidden ``.opentrain-export-*`` folder inside the target folder; each PDF is
      fsync'ed, then moved to ``EMP-2026-000123.pdf`` with ``os.replace`` (an existing
      file of the same name, i.e. the same immutable invoice, is replaced);
    * ZIP: a hidden temporary file next to the ZIP, fsync'ed, then ``os.replace``'d.

    Cancel, a full disk or an unwritable folder removes the temporary files and leaves
    the target as it was; the error is an :class:`ExportError` whose text is safe to
    show. Frozen (PyInstaller) builds must call ``multiprocessing.freeze_support()`` first
    thing in ``main`` for the spawned workers.

CSV
    UTF-8 *with* a byte-order mark (``utf-8-sig``): Excel, where most accountants open a
    CSV first, otherwise decodes it as the local ANSI code page and mangles accented names;
    accounting imports (Xero, QuickBooks, pandas with ``utf-8-sig``) accept the BOM. RFC 4180
    quoting and CRLF line ends, plain decimal amounts (``1234.50``), ISO dates
    (``2026-03-05``). Every cell that starts with ``= + - @``, a tab or a carriage return
    (or their full-width forms) is prefixed with ``'`` so a spreadsheet shows it as text
    instead of running it as a formula. A cell holding a comma, a semicolon (the separator
    Excel uses in many European locales), a quote or a line break is quoted, so it stays
    one cell whichever separator the reader assumes; NUL and other control characters
    (all but tab, CR and LF) are removed. Written atomically like the PDFs.
"""
from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from ..domain.invoices import InvoiceDocument, InvoiceKind
from ..domain.money import Money
from .files import fsync_dir, normal_permissions

__all__ = [
    "CHUNK_SIZE", "ExportCancelled", "ExportError", "ExportResult", "HISTORY_CSV_HEADER",
    "INVOICE_CSV_HEADER", "IN_PROCESS_LIMIT", "csv_cell", "csv_line", "download_name",
    "export_documents", "export_history_csv", "export_invoice_pdfs", "export_invoices_csv",
    "history_csv_row", "invoice_csv_row",
    "neutralise", "pdf_filename", "peak_rss", "save_invoice_pdf", "usable_cpus", "write_csv",
    "write_history_csv", "write_invoices_csv",
]

log = logging.getLogger(__name__)

CHUNK_SIZE = 16          # invoices per task sent to a worker process
IN_PROCESS_LIMIT = 64    # up to this many invoices: render in the calling thread
MAX_PROCESSES = 8
TEMP_PREFIX = ".opentrain-export-"

Progress = Callable[[int, int], None]


class ExportError(Exception):
    """An export failed; ``str(error)`` is a complete message for the user."""

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_


class ExportCancelled(Exception):
    """The export was cancelled; nothing was written."""


@dataclass(frozen=True)
class ExportResult:
    target: Path
    count: int                       # PDFs written
    names: tuple[str, ...]           # file / member names, in export order
    processes: int                   # worker processes that rendered (0: this process)
    worker_peak_rss: dict[int, int] = field(default_factory=dict)  # pid -> bytes
    seconds: float = 0.0


# -- names and errors -----------------------------------------------------------------------------

def pdf_filename(number: str) -> str:
    """``EMP-2026-000123`` → ``EMP-2026-000123.pdf`` (numbers are ``[A-Z0-9-]`` only)."""
    if not number or any(not (ch.isascii() and (ch.isalnum() or ch == "-")) for ch in number):
        raise ValueError(f"not an invoice number: {number!r}")
    return f"{number}.pdf"


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9-]+")


def download_name(number: str) -> str:
    """The file name offered for one invoice: :func:`pdf_filename` for a real number; for
    anything else (a tampered workspace: ``../../x``, ``C:\\x``) a plain name with every
    other character replaced, so it can never point outside the chosen folder."""
    try:
        return pdf_filename(number)
    except ValueError:
        return f"{_UNSAFE_NAME.sub('_', number or '').strip('_')[:80] or 'invoice'}.pdf"


def _user_error(exc: OSError, where: Path) -> ExportError:
    """A message a person can act on; says that nothing was written."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        text = (f"The disk is full: there is not enough free space in “{where}” for this "
                "export. Nothing was written; free some space or choose another place and "
                "try again.")
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = (f"You do not have permission to write to “{where}”. Nothing was written; "
                "choose another folder.")
    elif code in (errno.ENOENT, errno.ENOTDIR):
        text = f"The folder “{where}” does not exist. Nothing was written; choose another one."
    else:
        text = (f"Could not write to “{where}” ({exc.strerror or type(exc).__name__}). "
                "Nothing was written.")
    return ExportError(text, code)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


# -- where the PDFs go ----------------------------------------------------------------------------

class _FolderSink:
    """PDFs into a hidden temporary folder inside ``folder``; moved out on commit."""

    def __init__(self, folder: Path) -> None:
        self.target = folder
        self.names: list[str] = []
        self._seen: set[str] = set()
        self.tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=folder))

    def add(self, name: str, data: bytes) -> None:
        if name in self._seen:
            return
        _write_file(self.tmp / name, data)
        self._seen.add(name)
        self.names.append(name)

    def commit(self) -> None:
        moved: list[Path] = []
        try:
            for name in self.names:
                final = self.target / name
                existed = final.exists()
                os.replace(self.tmp / name, final)
                if not existed:
                    moved.append(final)
        except BaseException:
            for path in moved:  # all or nothing: take back what was already moved
                path.unlink(missing_ok=True)
            raise
        finally:
            self.discard()
        fsync_dir(self.target)

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class _ZipSink:
    """PDFs into a hidden temporary ZIP next to ``path``; renamed to ``path`` on commit.

    Stored, not deflated: the PDFs' streams are compressed already (deflate saves ~7%
    at the cost of a core's time)."""

    def __init__(self, path: Path) -> None:
        self.target = path
        self.names: list[str] = []
        self._seen: set[str] = set()
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        normal_permissions(fd)
        self.tmp = Path(name)
        self._file = os.fdopen(fd, "w+b")
        self._zip = zipfile.ZipFile(self._file, "w", zipfile.ZIP_STORED, allowZip64=True)
        self._stamp = datetime.now().timetuple()[:6]

    def add(self, name: str, data: bytes) -> None:
        if name in self._seen:
            return
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, data)
        self._seen.add(name)
        self.names.append(name)

    def commit(self) -> None:
        try:
            self._zip.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise
        fsync_dir(self.target.parent)

    def discard(self) -> None:
        for closer in (self._zip.close, self._file.close):
            try:
                closer()
            except Exception:  # noqa: BLE001 - best effort while failing/cancelling
                pass
        self.tmp.unlink(missing_ok=True)


def _open_sink(target: Path, as_zip: bool) -> _FolderSink | _ZipSink:
    where = target.parent if as_zip else target
    if not where.is_dir():
        raise ExportError(f"The folder “{where}” does not exist. Nothing was written; choose "
                          "another one.", errno.ENOENT)
    if as_zip and target.is_dir():
        raise ExportError(f"“{target}” is a folder; choose a file name for the ZIP.",
                          errno.EISDIR)
    try:
        return _ZipSink(target) if as_zip else _FolderSink(target)
    except OSError as exc:
        raise _user_error(exc, where) from exc


# -- rendering ------------------------------------------------------------------------------------

def usable_cpus() -> int:
    """Cores this process may run on (both of a two-core machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def peak_rss(children: bool = False) -> int:
    """Peak resident set size in bytes of this process (or of its largest finished child
    process), 0 where unknown."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _render_chunk(docs: list[InvoiceDocument], page_size: str
                  ) -> tuple[int, int, list[tuple[str, bytes]]]:
    """Worker-process entry point (top level, so ``spawn`` can import it)."""
    from .invoice_pdf import render_invoice_pdf
    pdfs = [(pdf_filename(doc.number), render_invoice_pdf(doc, page_size=page_size))
            for doc in docs]
    return os.getpid(), peak_rss(), pdfs


def _chunks(items: Iterable[InvoiceDocument], size: int) -> Iterator[list[InvoiceDocument]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Run:
    """One export in progress: counts, progress reports and the cancel check."""

    def __init__(self, total: int, progress: Progress | None,
                 cancel: threading.Event | None) -> None:
        self.total, self.done = total, 0
        self._progress, self._cancel = progress, cancel
        self.peaks: dict[int, int] = {}

    def check(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise ExportCancelled("The export was cancelled; nothing was written.")

    def advance(self, n: int) -> None:
        self.done += n
        if self._progress is not None:
            self._progress(self.done, max(self.total, self.done))


def _render_here(docs: Iterable[InvoiceDocument], sink, run: _Run, page_size: str) -> None:
    from .invoice_pdf import render_invoice_pdf
    for doc in docs:
        run.check()
        sink.add(pdf_filename(doc.number), render_invoice_pdf(doc, page_size=page_size))
        run.advance(1)


def _render_in_workers(docs: Iterable[InvoiceDocument], sink, run: _Run, page_size: str,
                       processes: int, chunk_size: int) -> None:
    """Chunks go to the pool in order; at most two per worker are in flight, so memory
    stays flat however many invoices there are; results are written in order."""
    pool = ProcessPoolExecutor(max_workers=processes,
                               mp_context=multiprocessing.get_context("spawn"))
    pending: deque[tuple[Future, int]] = deque()
    chunks = _chunks(docs, chunk_size)
    try:
        while True:
            while len(pending) < 2 * processes and (chunk := next(chunks, None)) is not None:
                pending.append((pool.submit(_render_chunk, chunk, page_size), len(chunk)))
            if not pending:
                break
            future, _size = pending[0]
            while not future.done():
                run.check()
                wait([future], timeout=0.05, return_when=FIRST_COMPLETED)
            run.check()
            pending.popleft()
            pid, peak, pdfs = future.result()
            run.peaks[pid] = max(run.peaks.get(pid, 0), peak)
            for name, data in pdfs:
                sink.add(name, data)
            run.advance(len(pdfs))
    finally:
        # On cancel or error: drop queued chunks and wait for the running ones, so no
        # worker is still busy when the temporary files are removed.
        pool.shutdown(wait=True, cancel_futures=True)


def export_documents(documents: Iterable[InvoiceDocument], target: Path, *, as_zip: bool,
                     total: int | None = None, progress: Progress | None = None,
                     cancel: threading.Event | None = None, processes: int | None = None,
                     chunk_size: int = CHUNK_SIZE, page_size: str = "letter") -> ExportResult:
    """Render ``documents`` into the folder ``target`` or the ZIP file ``target``.

    ``processes``: ``None`` picks one worker per usable core (in-process for small exports),
    ``0`` renders in the calling thread, ``n`` uses ``n`` worker processes. ``total`` (for
    progress) defaults to ``len(documents)`` where that exists. Raises
    :class:`ExportCancelled` or :class:`ExportError`; in both cases nothing was written."""
    started = time.perf_counter()
    target = Path(target)
    if total is None:
        total = len(documents) if isinstance(documents, Sequence) else 0
    if processes is None:
        processes = (0 if 0 < total <= IN_PROCESS_LIMIT
                     else min(usable_cpus(), MAX_PROCESSES))
    run = _Run(total, progress, cancel)
    run.check()
    sink = _open_sink(target, as_zip)
    try:
        if processes > 0:
            _render_in_workers(documents, sink, run, page_size, processes, max(1, chunk_size))
        else:
            _render_here(documents, sink, run, page_size)
        run.check()
        sink.commit()
    except OSError as exc:
        sink.discard()
        raise _user_error(exc, target.parent if as_zip else target) from exc
    except BrokenProcessPool as exc:
        sink.discard()
        log.error("PDF export worker died", exc_info=exc)
        raise ExportError("The PDF export stopped unexpectedly (a worker process ended). "
                          "Nothing was written; try again.") from exc
    except BaseException:
        sink.discard()
        raise
    return ExportResult(target, len(sink.names), tuple(sink.names),
                        len(run.peaks) if processes > 0 else 0, dict(run.peaks),
                        time.perf_counter() - started)


def _documents(engine, invoice_ids: Sequence[int], logo_path, batch: int = 500
               ) -> Iterator[InvoiceDocument]:
    from ..persistence.reports_queries import invoice_records
    from ..services.invoicing import document_from_row
    for start in range(0, len(invoice_ids), batch):
        for record in invoice_records(engine, invoice_ids[start:start + batch]):
            yield document_from_row(record, logo_path)


def export_invoice_pdfs(engine, invoice_ids: Sequence[int], target: Path, *, as_zip: bool,
                        logo_path: Path | None = None, progress: Progress | None = None,
                        cancel: threading.Event | None = None, processes: int | None = None,
                        chunk_size: int = CHUNK_SIZE, page_size: str = "letter"
                        ) -> ExportResult:
    """The issued invoices ``invoice_ids`` as PDFs (see :func:`export_documents`); the rows
    are read from the database a batch at a time while the PDFs render."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        raise ExportError("Select at least one invoice to export.")
    return export_documents(_documents(engine, ids, _logo(logo_path)), target, as_zip=as_zip,
                            total=len(ids), progress=progress, cancel=cancel,
                            processes=processes, chunk_size=chunk_size, page_size=page_size)


def _logo(path) -> Path | None:
    return Path(path) if path else None


def save_invoice_pdf(engine, invoice_id: int, path: Path, *, logo_path: Path | None = None,
                     page_size: str = "letter") -> Path:
    """One invoice as a PDF at ``path`` (atomic; ``ExportError`` on a write failure)."""
    from ..reports.invoice_pdf import write_invoice_pdf
    from ..persistence.reports_queries import invoice_records
    from ..services.invoicing import document_from_row
    records = invoice_records(engine, [invoice_id])
    if not records:
        raise ExportError("That invoice no longer exists.")
    doc = document_from_row(records[0], _logo(logo_path))
    path = Path(path)
    try:
        return write_invoice_pdf(doc, path, page_size=page_size)
    except OSError as exc:
        raise _user_error(exc, path.parent) from exc


# -- CSV ------------------------------------------------------------------------------------------

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
        raise _user_error(exc, path.parent) from exc
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(csv_line(header))
            for row in rows:
                if cancel is not None and cancel.is_set():
                    raise ExportCancelled("The export was cancelled; nothing was written.")
                fh.write(csv_line(row))
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _user_error(exc, path.parent) from exc
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


def export_invoices_csv(engine, filters, path: Path, *, sort: str = "date",
                        descending: bool = True) -> int:
    """The filtered invoice list (every row, in view order) as CSV; returns the row count."""
    from ..persistence.reports_queries import iter_invoices
    return write_invoices_csv(iter_invoices(engine, filters, sort=sort, descending=descending),
                              path)


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


def _history_rows(engine, filters: dict, batch: int = 1000) -> Iterator:
    from ..persistence import history_queries as hq
    after = None
    while True:  # keyset: a row added while exporting never shows twice
        page = hq.payment_history(engine, after=after, limit=batch, **filters)
        yield from page
        if len(page) < batch:
            return
        after = page[-1]


def export_history_csv(engine, path: Path, **filters: Any) -> int:
    """Payment history (``history_queries.payment_history`` filters) as CSV."""
    return write_history_csv(_history_rows(engine, filters), path)
