"""Invoice numbering (EMP-2026-000123) and InvoiceDocument invariants."""
from __future__ import annotations

import dataclasses
import datetime
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opentrain_desk.domain.errors import ValidationError
from opentrain_desk.domain.invoices import (
    MAX_SEQUENCE,
    BillingType,
    InvoiceDocument,
    InvoiceKind,
    InvoiceNumber,
    InvoiceParty,
    format_invoice_number,
    invoice_series,
    parse_invoice_number,
)

kinds = st.sampled_from(list(InvoiceKind))
years = st.integers(min_value=1000, max_value=9999)
seqs = st.integers(min_value=1, max_value=MAX_SEQUENCE)


@pytest.mark.parametrize(
    ("kind", "year", "seq", "expected"),
    [
        (InvoiceKind.EMPLOYER_FUNDING, 2026, 123, "EMP-2026-000123"),
        (InvoiceKind.TRAINER_PAYOUT, 2026, 45, "PAY-2026-000045"),
        (InvoiceKind.SUBSCRIPTION, 2026, 1, "SUB-2026-000001"),
        (InvoiceKind.EMPLOYER_FUNDING, 2031, 999_999, "EMP-2031-999999"),
    ],
)
def test_format_examples(kind, year, seq, expected):
    assert format_invoice_number(kind, year, seq) == expected
    assert parse_invoice_number(expected) == InvoiceNumber(kind, year, seq)


def test_kind_prefixes_and_labels():
    assert {k.prefix for k in InvoiceKind} == {"EMP", "PAY", "SUB", "CN"}
    assert InvoiceKind.from_prefix("CN").label == "Credit note"
    assert InvoiceKind.from_prefix("PAY") is InvoiceKind.TRAINER_PAYOUT
    assert InvoiceKind.TRAINER_PAYOUT.label == "Trainer payout"
    assert BillingType.MILESTONE.value == "Milestone"
    assert str(BillingType.SUBSCRIPTION) == "Subscription"
    with pytest.raises(ValidationError):
        InvoiceKind.from_prefix("INV")


def test_series():
    assert invoice_series(InvoiceKind.EMPLOYER_FUNDING, 2026) == "EMP-2026"
    assert parse_invoice_number("SUB-2027-000010").series == "SUB-2027"
    assert str(parse_invoice_number("PAY-2026-000045")) == "PAY-2026-000045"


@given(kinds, years, seqs)
def test_format_parse_round_trip(kind, year, seq):
    text = format_invoice_number(kind, year, seq)
    assert re.fullmatch(r"(EMP|PAY|SUB|CN)-\d{4}-\d{6}", text)
    assert parse_invoice_number(text) == (kind, year, seq)
    assert parse_invoice_number(f"  {text}\n") == (kind, year, seq)


@given(kinds, years, seqs, seqs)
def test_numbers_sort_like_their_sequence(kind, year, a, b):
    """Zero padding makes text order match numeric order inside a series."""
    left, right = format_invoice_number(kind, year, a), format_invoice_number(kind, year, b)
    assert (left < right) == (a < b)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "EMP",
        "EMP-2026-123",  # not padded
        "EMP-2026-0001234",  # too many digits
        "emp-2026-000123",  # lower case
        "INV-2026-000123",  # unknown series
        "EMP-26-000123",
        "EMP-2026-000000",  # sequences start at 1
        "EMP-0999-000001",  # year out of range
        "EMP_2026_000123",
        "EMP-2026-000123x",
        "EMP-2026-000123 EMP-2026-000124",
        "EMP-２０２６-000123",  # full-width digits are not ASCII digits
        "EMP-2026-00012３",
    ],
)
def test_parse_rejects(text):
    with pytest.raises(ValidationError):
        parse_invoice_number(text)


@pytest.mark.parametrize(
    ("year", "seq", "error"),
    [
        (2026, 0, ValidationError),
        (2026, -1, ValidationError),
        (2026, MAX_SEQUENCE + 1, ValidationError),
        (999, 1, ValidationError),
        (10_000, 1, ValidationError),
        (2026, 1.0, TypeError),
        (2026, True, TypeError),
        ("2026", 1, TypeError),
    ],
)
def test_format_rejects(year, seq, error):
    with pytest.raises(error):
        format_invoice_number(InvoiceKind.EMPLOYER_FUNDING, year, seq)


def test_format_needs_a_kind():
    with pytest.raises(TypeError):
        format_invoice_number("EMP", 2026, 1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- documents


def _doc(**overrides) -> InvoiceDocument:
    fields = dict(
        number="EMP-2026-000123",
        issue_date=datetime.date(2026, 3, 5),
        billing_type=BillingType.MILESTONE,
        kind=InvoiceKind.EMPLOYER_FUNDING,
        issuer=InvoiceParty("Brightline Talent LLC", ("1 Main St",), "billing@example.com"),
        bill_to=InvoiceParty("Zoë Müller-Łukasiewicz", ["Calle 1", "Madrid"]),
        project_name="LLM Evaluation",
        description="Milestone 1",
        amount_cents=123_450,
        payment_status="Paid",
    )
    fields.update(overrides)
    return InvoiceDocument(**fields)


def test_document_derives_series_and_normalises_sequences():
    doc = _doc(stripe_references=[["PaymentIntent", "pi_123"]])
    assert doc.series == "EMP-2026"
    assert doc.currency == "USD"
    assert doc.bill_to.address_lines == ("Calle 1", "Madrid")
    assert doc.stripe_references == (("PaymentIntent", "pi_123"),)
    assert doc.parsed_number == InvoiceNumber(InvoiceKind.EMPLOYER_FUNDING, 2026, 123)
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.amount_cents = 1  # type: ignore[misc]
    assert _doc(series="EMP-2026").series == "EMP-2026"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"kind": InvoiceKind.TRAINER_PAYOUT}, ValidationError),  # EMP number, PAY kind
        ({"series": "EMP-2025"}, ValidationError),
        ({"number": "EMP-2026-123"}, ValidationError),
        ({"amount_cents": 1234.5}, TypeError),
        ({"amount_cents": True}, TypeError),
        ({"amount_cents": -1}, ValidationError),
        ({"currency": "EUR"}, ValidationError),
        ({"issue_date": "2026-03-05"}, TypeError),
        ({"issue_date": datetime.datetime(2026, 3, 5, 12, 0)}, TypeError),
        ({"billing_type": "Milestone"}, TypeError),
        ({"description": "   "}, ValidationError),
        ({"project_name": ""}, ValidationError),
        ({"stripe_references": (("PaymentIntent",),)}, TypeError),
    ],
)
def test_document_rejects_inconsistent_fields(overrides, error):
    with pytest.raises(error):
        _doc(**overrides)


def test_party_rejects_bad_fields():
    with pytest.raises(ValidationError):
        InvoiceParty(" ")
    with pytest.raises(TypeError):
        InvoiceParty("Ann", "1 Main St")  # one str is not a list of lines
