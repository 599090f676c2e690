"""Issuing invoices: numbered gaplessly per series and year, in the money event's
transaction; an issued invoice is an immutable snapshot (never updated)."""
from __future__ import annotations

import json
from dataclasses import asdict

import sqlalchemy as sa

from ..domain.invoices import (BillingType, InvoiceDocument, InvoiceKind, InvoiceParty,
                               format_invoice_number, invoice_series)
from ..persistence.orm import invoice_counters, invoices
from .unit_of_work import UnitOfWork

COMPANY_KEYS = ("company.name", "company.address", "company.email", "company.tax_id")
COMPANY_LOGO = "company.logo_path"


def company_party(uow: UnitOfWork) -> InvoiceParty:
    values = uow.settings.get_many(COMPANY_KEYS)
    name, address, email, tax_id = (values.get(key) or "" for key in COMPANY_KEYS)
    return InvoiceParty(name or "Your agency (set the legal name in Settings → Company)",
                        tuple(line for line in address.splitlines() if line.strip()),
                        email or None, tax_id or None)


def next_number(uow: UnitOfWork, kind: InvoiceKind, year: int) -> tuple[str, int]:
    """Reserve the next number of the series (row-locked / write-locked until commit:
    concurrent issuers queue up, and a rolled-back issue releases its number)."""
    series = invoice_series(kind, year)
    seq = uow.session.execute(_NEXT_SEQ, {"b_series": series}).scalar()
    if seq is None:  # first invoice of the series: create the counter race-free
        dialect = uow.session.get_bind().dialect.name
        uow.session.execute(_create_counter(dialect), {"series": series, "last_seq": 0})
        seq = uow.session.execute(_NEXT_SEQ, {"b_series": series}).scalar_one()
    return series, seq


def _create_counter(dialect: str) -> sa.Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: of two transactions issuing a series' first
    invoice at once, one creates the row and the other waits for it, then both take the
    next number with ``UPDATE … RETURNING`` (no UniqueViolation)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(invoice_counters).on_conflict_do_nothing(index_elements=["series"])


# Built once (issued on the payment worker's hot path): compiled once, reused.
_NEXT_SEQ = (invoice_counters.update()
             .where(invoice_counters.c.series == sa.bindparam("b_series"))
             .values(last_seq=invoice_counters.c.last_seq + 1)
             .returning(invoice_counters.c.last_seq))
_INSERT_INVOICE = invoices.insert()


def issue(uow: UnitOfWork, kind: InvoiceKind, *, bill_to: InvoiceParty, project: str,
          description: str, amount_cents: int, payment_status: str,
          refs: tuple[tuple[str, str], ...] = (), billing_type: BillingType =
          BillingType.MILESTONE, job_id=None, contract_id=None, milestone_id=None,
          operation_id=None, external_ref: str | None = None,
          issuer: InvoiceParty | None = None, corrects: str | None = None) -> str:
    """Issue one invoice inside the caller's unit of work; returns its number.
    ``issuer`` defaults to the agency (Settings → Company), read in this transaction."""
    issue_date = uow.now.date()
    series, seq = next_number(uow, kind, issue_date.year)
    number = format_invoice_number(kind, issue_date.year, seq)
    document = InvoiceDocument(  # validates every field before anything is written
        number=number, issue_date=issue_date, billing_type=billing_type, kind=kind,
        issuer=issuer or company_party(uow), bill_to=bill_to, project_name=project,
        description=description, amount_cents=amount_cents, payment_status=payment_status,
        stripe_references=refs, corrects=corrects or "")
    uow.session.execute(_INSERT_INVOICE, dict(
        number=number, series=series, seq=seq, kind=kind.prefix,
        billing_type=billing_type.value, issue_date=issue_date,
        issuer=_party_json(document.issuer), bill_to=_party_json(bill_to),
        project_name=project, description=description, amount_cents=amount_cents,
        currency=document.currency, payment_status=payment_status,
        stripe_refs=json.dumps([list(r) for r in refs]), job_id=job_id,
        contract_id=contract_id, milestone_id=milestone_id, operation_id=operation_id,
        external_ref=external_ref, corrects=corrects, created_at=uow.now))
    uow.audit("invoice", None, "issued", after={"number": number, "amount_cents": amount_cents,
                                                "kind": kind.prefix})
    return number


def _party_json(party: InvoiceParty) -> str:
    return json.dumps(asdict(party), ensure_ascii=False, sort_keys=True)


def _party(text: str) -> InvoiceParty:
    data = json.loads(text)
    data["address_lines"] = tuple(data.get("address_lines") or ())
    return InvoiceParty(**data)


def document(conn: sa.Connection, invoice_id: int, logo_path=None) -> InvoiceDocument:
    """The issued invoice, exactly as issued, ready for the PDF renderer."""
    row = conn.execute(sa.select(invoices).where(invoices.c.id == invoice_id)).one()
    return document_from_row(row, logo_path)


def document_from_row(row, logo_path=None) -> InvoiceDocument:
    return InvoiceDocument(
        number=row.number, issue_date=row.issue_date,
        billing_type=BillingType(row.billing_type), kind=InvoiceKind.from_prefix(row.kind),
        issuer=_party(row.issuer), bill_to=_party(row.bill_to), project_name=row.project_name,
        description=row.description, amount_cents=row.amount_cents,
        payment_status=row.payment_status, currency=row.currency,
        stripe_references=tuple(tuple(r) for r in json.loads(row.stripe_refs)),
        logo_path=logo_path, corrects=getattr(row, "corrects", None) or "")


def latest_for_milestone(uow: UnitOfWork, milestone_id: int, kind: InvoiceKind):
    """``(number, amount, bill_to JSON)`` of the milestone's newest invoice of ``kind``."""
    t = invoices.c
    return uow.session.execute(
        sa.select(t.number, t.amount_cents, t.bill_to, t.project_name)
        .where(t.milestone_id == milestone_id, t.kind == kind.prefix)
        .order_by(t.id.desc()).limit(1)).first()


def set_payment_status(uow: UnitOfWork, milestone_id: int, kind: InvoiceKind,
                       status: str) -> None:
    """An invoice's content is an immutable snapshot; its payment status follows the money
    (a payout invoice never says "paid out" for a payout that failed)."""
    t = invoices.c
    newest = (sa.select(sa.func.max(t.id))
              .where(t.milestone_id == milestone_id, t.kind == kind.prefix).scalar_subquery())
    uow.session.execute(invoices.update().where(t.id == newest).values(payment_status=status))


def issue_credit_note(uow: UnitOfWork, milestone_id: int, corrected: InvoiceKind,
                      amount_cents: int, reason: str, refund_id: str,
                      operation_id: str) -> str | None:
    """Every refund issues a credit note naming the invoice it corrects."""
    original = latest_for_milestone(uow, milestone_id, corrected)
    if original is None:
        return None
    bill_to = _party(original.bill_to)
    return issue(uow, InvoiceKind.CREDIT_NOTE, bill_to=bill_to, project=original.project_name,
                 description=f"Credit note for {original.number}: {reason}"[:2000],
                 amount_cents=amount_cents, payment_status="Refunded",
                 refs=(("Refund", refund_id), ("Corrects", original.number)),
                 milestone_id=milestone_id, operation_id=operation_id,
                 corrects=original.number)
