"""Rows and filters for the Reports area: the invoice list and the monthly totals."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class InvoiceFilters:
    """What the Reports view filters by; empty values mean "any".

    ``date_from``/``date_to`` are inclusive issue dates; ``text`` matches (case-insensitive
    substring) the number, project, description or bill-to / payee name."""

    date_from: date | None = None
    date_to: date | None = None
    billing_type: str | None = None     # "Milestone" / "Subscription"
    payment_status: str | None = None   # as issued: "Paid", "Released", ...
    kind: str | None = None             # series prefix: "EMP" / "PAY" / "SUB"
    text: str = ""


#: What the invoice list can be sorted by (the read side refuses anything else).
SORT_KEYS = ("number", "project", "billing_type", "amount", "status", "date")


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    id: int
    number: str
    kind: str
    billing_type: str
    issue_date: date
    project_name: str
    description: str
    bill_to_name: str
    amount_cents: int | None
    currency: str
    payment_status: str
    stripe_refs: tuple[tuple[str, str], ...] = field(default=())

    @property
    def filename(self) -> str:
        """``EMP-2026-000123.pdf``."""
        return f"{self.number}.pdf"


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    count: int
    amount_cents: int


@dataclass(frozen=True, slots=True)
class MonthlyTotal:
    month: date            # the first day of the (UTC) month
    funded_cents: int
    paid_out_cents: int

    @property
    def label(self) -> str:
        """``Mar 2026`` (locale-independent: CSV and logs; screens use
        ``ui.formatting.month``)."""
        return f"{_MONTHS[self.month.month - 1]} {self.month.year}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
