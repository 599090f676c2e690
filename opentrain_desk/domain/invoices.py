"""Issued invoice documents and invoice numbering.

Plain Python: no Qt, no SQLAlchemy, no reportlab. An :class:`InvoiceDocument` is an
immutable snapshot of everything printed on one invoice; the PDF renderer in
``opentrain_desk.reports.invoice_pdf`` turns it into bytes.

Invoice numbers look like ``EMP-2026-000123``: a series prefix chosen by the
:class:`InvoiceKind`, the four-digit year, and a six-digit sequence number that
starts at 1 in every series. ``EMP-2026`` is the *series* of that number.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import NamedTuple

from .errors import ValidationError

__all__ = [
    "BillingType",
    "InvoiceDocument",
    "InvoiceKind",
    "InvoiceNumber",
    "InvoiceParty",
    "MAX_SEQUENCE",
    "MAX_YEAR",
    "MIN_YEAR",
    "format_invoice_number",
    "invoice_series",
    "parse_invoice_number",
]

MIN_YEAR = 1000
MAX_YEAR = 9999
MAX_SEQUENCE = 999_999  # six digits


class InvoiceKind(Enum):
    """What the invoice is for; the value is the number's series prefix."""

    EMPLOYER_FUNDING = "EMP"
    TRAINER_PAYOUT = "PAY"
    SUBSCRIPTION = "SUB"
    CREDIT_NOTE = "CN"   # a refund: corrects an earlier invoice (amounts shown negative)

    @property
    def prefix(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """Human label, e.g. ``Employer funding``."""
        return _KIND_LABELS[self]

    @classmethod
    def from_prefix(cls, prefix: str) -> InvoiceKind:
        for kind in cls:
            if kind.value == prefix:
                return kind
        raise ValidationError(f"“{prefix}” is not an invoice series prefix "
                              "(EMP, PAY, SUB or CN).")


_KIND_LABELS = {
    InvoiceKind.EMPLOYER_FUNDING: "Employer funding",
    InvoiceKind.TRAINER_PAYOUT: "Trainer payout",
    InvoiceKind.SUBSCRIPTION: "Subscription",
    InvoiceKind.CREDIT_NOTE: "Credit note",
}


class BillingType(Enum):
    """How the work is billed; the value is the display text."""

    MILESTONE = "Milestone"
    SUBSCRIPTION = "Subscription"

    def __str__(self) -> str:
        return self.value


class InvoiceNumber(NamedTuple):
    """The parts of an invoice number."""

    kind: InvoiceKind
    year: int
    seq: int

    @property
    def series(self) -> str:
        return invoice_series(self.kind, self.year)

    def __str__(self) -> str:
        return format_invoice_number(self.kind, self.year, self.seq)


def _check_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _check_year(year: object) -> int:
    year = _check_int("year", year)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(f"Invoice year {year} is out of range ({MIN_YEAR}–{MAX_YEAR}).")
    return year


def invoice_series(kind: InvoiceKind, year: int) -> str:
    """The series an invoice number belongs to: ``EMP-2026``."""
    if not isinstance(kind, InvoiceKind):
        raise TypeError("kind must be an InvoiceKind")
    return f"{kind.prefix}-{_check_year(year):04d}"


def format_invoice_number(kind: InvoiceKind, year: int, seq: int) -> str:
    """``format_invoice_number(InvoiceKind.EMPLOYER_FUNDING, 2026, 123) == "EMP-2026-000123"``."""
    series = invoice_series(kind, year)
    seq = _check_int("seq", seq)
    if not 1 <= seq <= MAX_SEQUENCE:
        raise ValidationError(
            f"Invoice sequence number {seq} is out of range (1–{MAX_SEQUENCE:,})."
        )
    return f"{series}-{seq:06d}"


_NUMBER = re.compile(r"(?P<prefix>[A-Z]{2,3})-(?P<year>[0-9]{4})-(?P<seq>[0-9]{6})")


def parse_invoice_number(text: str) -> InvoiceNumber:
    """Parse ``EMP-2026-000123`` into ``InvoiceNumber(kind, 2026, 123)``.

    Strict: exactly the canonical form (surrounding whitespace is ignored), so
    ``format_invoice_number(*parse_invoice_number(s)) == s.strip()`` for every
    accepted ``s``. Raises :class:`ValidationError` otherwise.
    """
    if not isinstance(text, str):
        raise TypeError("invoice number must be a str")
    cleaned = text.strip()
    match = _NUMBER.fullmatch(cleaned)
    if match is None:
        raise ValidationError(
            f"“{cleaned}” is not an invoice number; expected e.g. EMP-2026-000123."
        )
    kind = InvoiceKind.from_prefix(match.group("prefix"))
    year = _check_year(int(match.group("year")))
    seq = int(match.group("seq"))
    if seq < 1:
        raise ValidationError(f"“{cleaned}” has sequence number 0; sequences start at 1.")
    return InvoiceNumber(kind, year, seq)


def _text(name: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if required and not value.strip():
        raise ValidationError(f"The invoice {name.replace('_', ' ')} is empty.")
    return value


@dataclass(frozen=True, slots=True)
class InvoiceParty:
    """Someone named on an invoice: the issuer, or the customer / payee."""

    name: str
    address_lines: tuple[str, ...] = ()
    email: str | None = None
    tax_id: str | None = None

    def __post_init__(self) -> None:
        _text("party name", self.name)
        lines = self.address_lines
        if isinstance(lines, str):
            raise TypeError("address_lines must be a sequence of lines, not one str")
        lines = tuple(lines)
        for line in lines:
            _text("address line", line, required=False)
        object.__setattr__(self, "address_lines", lines)
        if self.email is not None:
            _text("email", self.email, required=False)
        if self.tax_id is not None:
            _text("tax ID", self.tax_id, required=False)


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything printed on one issued invoice.

    ``series`` may be left empty; it is then derived from ``number``
    (``EMP-2026-000123`` → ``EMP-2026``). ``kind`` must match the number's prefix.
    """

    number: str
    issue_date: _dt.date
    billing_type: BillingType
    kind: InvoiceKind
    issuer: InvoiceParty
    bill_to: InvoiceParty
    project_name: str
    description: str
    amount_cents: int
    payment_status: str
    currency: str = "USD"
    stripe_references: tuple[tuple[str, str], ...] = ()
    logo_path: Path | None = None
    series: str = field(default="")
    corrects: str = ""  # credit notes: the number of the invoice they correct

    @property
    def signed_amount_cents(self) -> int:
        """Credit notes count negative (money back to the employer)."""
        return -self.amount_cents if self.kind is InvoiceKind.CREDIT_NOTE else self.amount_cents

    def __post_init__(self) -> None:
        parsed = parse_invoice_number(_text("number", self.number))
        if parsed.kind is not self.kind:
            raise ValidationError(
                f"Invoice {self.number} has prefix {parsed.kind.prefix} but kind "
                f"{self.kind.name} needs {self.kind.prefix}."
            )
        object.__setattr__(self, "number", str(parsed))
        if not self.series:
            object.__setattr__(self, "series", parsed.series)
        elif self.series != parsed.series:
            raise ValidationError(
                f"Invoice {self.number} belongs to series {parsed.series}, not {self.series}."
            )
        if not isinstance(self.issue_date, _dt.date) or isinstance(self.issue_date, _dt.datetime):
            raise TypeError("issue_date must be a datetime.date")
        if not isinstance(self.billing_type, BillingType):
            raise TypeError("billing_type must be a BillingType")
        if not isinstance(self.kind, InvoiceKind):
            raise TypeError("kind must be an InvoiceKind")
        if not isinstance(self.issuer, InvoiceParty) or not isinstance(self.bill_to, InvoiceParty):
            raise TypeError("issuer and bill_to must be InvoiceParty")
        _text("project_name", self.project_name)
        _text("description", self.description)
        _text("payment_status", self.payment_status)
        _check_int("amount_cents", self.amount_cents)
        if self.amount_cents < 0:
            raise ValidationError("An invoice amount cannot be negative.")
        if self.currency != "USD":
            raise ValidationError(f"Only USD invoices are supported, not {self.currency}.")
        refs = []
        for ref in self.stripe_references:
            if len(ref) != 2:
                raise TypeError("stripe_references must be (label, id) pairs")
            label, ref_id = ref
            refs.append((_text("Stripe reference label", label), _text("Stripe reference", ref_id)))
        object.__setattr__(self, "stripe_references", tuple(refs))
        if self.logo_path is not None:
            object.__setattr__(self, "logo_path", Path(self.logo_path))

    @property
    def parsed_number(self) -> InvoiceNumber:
        return parse_invoice_number(self.number)
