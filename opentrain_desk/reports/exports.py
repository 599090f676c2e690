"""Exports for accountants, in one namespace: invoice PDFs in bulk (``pdf_bundle``) and
CSV tables (``csv_export``); errors, results and file names in ``export_common``.

Every function reads through the read side (``ctx.read``); for scripts, tests and
benchmarks an SQLAlchemy engine is accepted too. The UI runs them on ``ctx.files`` with a
progress callback and a cancel event.
"""
from __future__ import annotations

from .csv_export import (
                         HISTORY_CSV_HEADER,
                         INVOICE_CSV_HEADER,
                         csv_cell,
                         csv_line,
                         export_history_csv,
                         export_invoices_csv,
                         history_csv_row,
                         invoice_csv_row,
                         neutralise,
                         write_csv,
                         write_history_csv,
                         write_invoices_csv,
)
from .export_common import (
                         ExportCancelled,
                         ExportError,
                         ExportResult,
                         Progress,
                         download_name,
                         pdf_filename,
)
from .pdf_bundle import (
                         CHUNK_SIZE,
                         IN_PROCESS_LIMIT,
                         export_documents,
                         export_invoice_pdfs,
                         peak_rss,
                         save_document_pdf,
                         save_invoice_pdf,
                         usable_cpus,
)

__all__ = [
    "CHUNK_SIZE", "HISTORY_CSV_HEADER", "INVOICE_CSV_HEADER", "IN_PROCESS_LIMIT",
    "ExportCancelled", "ExportError", "ExportResult", "Progress", "csv_cell", "csv_line",
    "download_name", "export_documents", "export_history_csv", "export_invoice_pdfs",
    "export_invoices_csv", "history_csv_row", "invoice_csv_row", "neutralise",
    "pdf_filename", "peak_rss", "save_document_pdf", "save_invoice_pdf", "usable_cpus",
    "write_csv", "write_history_csv", "write_invoices_csv",
]
