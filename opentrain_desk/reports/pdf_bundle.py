"""Invoice PDFs in bulk (a folder or one ZIP) and one at a time.

No Qt here: the Reports view runs these on ``ctx.files`` and passes a
``progress(done, total)`` callback (called on the worker thread) and a
``threading.Event`` to cancel.

    Rendering is CPU-bound (~3 ms a page), so a bulk export renders in worker *processes*
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
"""
from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from itertools import islice
from pathlib import Path

from ..domain.invoices import InvoiceDocument
from .export_common import (
    CANCELLED,
    ExportCancelled,
    ExportError,
    ExportResult,
    Progress,
    pdf_filename,
    reads,
    user_error,
)
from ..process_stats import peak_rss  # re-exported (reports.exports.peak_rss)
from .files import fsync_dir, normal_permissions

__all__ = ["CHUNK_SIZE", "IN_PROCESS_LIMIT", "export_documents", "export_invoice_pdfs",
           "peak_rss", "save_document_pdf", "save_invoice_pdf", "usable_cpus"]

log = logging.getLogger(__name__)

CHUNK_SIZE = 16          # invoices per task sent to a worker process
IN_PROCESS_LIMIT = 64    # up to this many invoices: render in the calling thread
MAX_PROCESSES = 8
TEMP_PREFIX = ".opentrain-export-"


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
            with contextlib.suppress(Exception):  # best effort while failing/cancelling
                closer()
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
        raise user_error(exc, where) from exc


# -- rendering ------------------------------------------------------------------------------------

def usable_cpus() -> int:
    """Cores this process may run on (both of a two-core machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


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
            raise ExportCancelled(CANCELLED)

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
        raise user_error(exc, target.parent if as_zip else target) from exc
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



def export_invoice_pdfs(source, invoice_ids: Sequence[int], target: Path, *, as_zip: bool,
                        logo_path: Path | None = None, progress: Progress | None = None,
                        cancel: threading.Event | None = None, processes: int | None = None,
                        chunk_size: int = CHUNK_SIZE, page_size: str = "letter"
                        ) -> ExportResult:
    """The issued invoices ``invoice_ids`` as PDFs (see :func:`export_documents`); the rows
    are read from ``source`` (the read side, or an engine) a batch at a time while the PDFs
    render."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        raise ExportError("Select at least one invoice to export.")
    documents = reads(source).invoice_documents(ids, _logo(logo_path))
    return export_documents(documents, target, as_zip=as_zip, total=len(ids),
                            progress=progress, cancel=cancel, processes=processes,
                            chunk_size=chunk_size, page_size=page_size)


def _logo(path) -> Path | None:
    return Path(path) if path else None


def save_invoice_pdf(source, invoice_id: int, path: Path, *, logo_path: Path | None = None,
                     page_size: str = "letter") -> Path:
    """One invoice as a PDF at ``path`` (atomic; ``ExportError`` on a write failure)."""
    doc = next(iter(reads(source).invoice_documents([invoice_id], _logo(logo_path))), None)
    if doc is None:
        raise ExportError("That invoice no longer exists.")
    return save_document_pdf(doc, path, page_size=page_size)


def save_document_pdf(doc: InvoiceDocument, path: Path, *, page_size: str = "letter") -> Path:
    from .invoice_pdf import write_invoice_pdf
    path = Path(path)
    try:
        return write_invoice_pdf(doc, path, page_size=page_size)
    except OSError as exc:
        raise user_error(exc, path.parent) from exc
