"""Reports → Check against Stripe (moved to ``ui/views/reports/stripe_check.py``, its model
and refund dialog to ``reports/differences.py``); the names its importers use."""
from __future__ import annotations

from .reports.differences import (
                                  CHECK_TEXT,
                                  CHECKING_TEXT,
                                  NO_DIFFERENCES,
                                  DifferenceColumn,
                                  DifferencesModel,
                                  RefundChargeDialog,
                                  count_text,
                                  error_text,
)
from .reports.stripe_check import StripeCheckView

__all__ = ["CHECKING_TEXT", "CHECK_TEXT", "NO_DIFFERENCES", "DifferenceColumn",
           "DifferencesModel", "RefundChargeDialog", "StripeCheckView", "count_text",
           "error_text"]
