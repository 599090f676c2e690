"""Issuing invoices: numbered gaplessly per series and year, in the money event's
transaction; an issued invoice is an immutable snapshot (never updated)."""
from __future__ import annotations

import json
from dataclasses import asdict

from ..domain.invoices import (BillingType, InvoiceDocument, InvoiceKind, InvoiceParty,
                               format_invoice_number, invoice_series)
from .unit_of_work import UnitOfWork, UnitOfWorkFactory
from .workspace_settings import WorkspaceSettings


def company_party(uow: UnitOfWork) -> InvoiceParty:
    """The agency as it issues (and is billed on) its invoices, read in this transaction."""
    company = WorkspaceSettings(uow).company()
    return InvoiceParty(company.name or "Your agency (set the legal name in Settings → Company)",
                        tuple(line for line in company.address.splitlines() if line.strip()),
                        company.email or None, company.tax_id or None)


def next_number(uow: UnitOfWork, kind: InvoiceKind, year: int) -> tuple[str, int]:
    """Reserve the next number of the series (row-locked / write-locked until commit:
    concurrent issuers queue up, and a rolled-back issue releases its number)."""
    series = invoice_series(kind, year)
    return series, uow.invoices.next_seq(series)


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
    uow.invoices.add(
        number=number, series=series, seq=seq, kind=kind.prefix,
        billing_type=billing_type.value, issue_date=issue_date,
        issuer=_party_json(document.issuer), bill_to=_party_json(bill_to),
        project_name=project, description=description, amount_cents=amount_cents,
        currency=document.currency, payment_status=payment_status,
        stripe_refs=json.dumps([list(r) for r in refs]), job_id=job_id,
        contract_id=contract_id, milestone_id=milestone_id, operation_id=operation_id,
        external_ref=external_ref, corrects=corrects, created_at=uow.now)
    uow.audit("invoice", None, "issued", after={"number": number, "amount_cents": amount_cents,
                                                "kind": kind.prefix})
    return number


def _party_json(party: InvoiceParty) -> str:
    return json.dumps(asdict(party), ensure_ascii=False, sort_keys=True)


def _party(text: str) -> InvoiceParty:
    data = json.loads(text)
    data["address_lines"] = tuple(data.get("address_lines") or ())
    return InvoiceParty(**data)


def document(factory: UnitOfWorkFactory, invoice_id: int, logo_path=None) -> InvoiceDocument:
    """The issued invoice, exactly as issued, ready for the PDF renderer."""
    with factory() as uow:
        return document_from_row(uow.invoices.get(invoice_id), logo_path)


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
    return uow.invoices.latest_for_milestone(milestone_id, kind.prefix)


def set_payment_status(uow: UnitOfWork, milestone_id: int, kind: InvoiceKind,
                       status: str) -> None:
    """An invoice's content is an immutable snapshot; its payment status follows the money
    (a payout invoice never says "paid out" for a payout that failed)."""
    uow.invoices.set_payment_status(milestone_id, kind.prefix, status)


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
