"""Reports: find any invoice, download it or a whole period as PDFs, export CSV for the
accountant, review payment history, and see funded vs. paid out per month.

The page lives in the package ``ui/views/reports/`` (one module per tab); this module keeps
the names its importers use."""
from __future__ import annotations

from .reports.chart import MonthlyChart, bar_colours
from .reports.invoices_model import (
                                     SORT_KEY,
                                     DownloadDelegate,
                                     InvoiceColumn,
                                     InvoicesModel,
                                     directions_text,
)
from .reports.page import ReportsPage

__all__ = ["SORT_KEY", "DownloadDelegate", "InvoiceColumn", "InvoicesModel", "MonthlyChart",
           "ReportsPage", "bar_colours", "directions_text"]
