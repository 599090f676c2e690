"""Answering a dispute: an evidence pack assembled from the books, reviewed and edited by
the employer, saved at Stripe without submitting, then submitted before the deadline."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ..domain.disputes import EVIDENCE_FIELDS, is_open
from ..domain.errors import DomainError
from ..domain.money import Money
from .ports import GatewayError, PaymentGateway
from .stripe_events import apply_dispute
from .unit_of_work import UnitOfWork, UnitOfWorkFactory
from ..domain.roles import Capability
from .team import require_in

LABELS = {"product_description": "What was bought",
          "service_date": "Date the work was delivered",
          "service_documentation": "Delivery and approval",
          "customer_communication": "Messages to the trainer",
          "uncategorized_text": "Invoices and Stripe references"}


@dataclass(frozen=True)
class DisputeView:
    id: str
    milestone_id: int
    amount_cents: int
    reason: str
    status: str
    due_by: datetime | None
    evidence: dict  # what the employer will send (saved draft, else the assembled pack)
    submitted: bool


def for_milestone(factory: UnitOfWorkFactory, milestone_id: int) -> DisputeView | None:
    """The milestone's open dispute with its evidence draft (read only)."""
    with factory() as uow:
        rows = uow.disputes.open_for_milestones([milestone_id])
        if not rows:
            return None
        row = rows[0]
        saved = json.loads(row.evidence or "{}")
        evidence = saved or evidence_pack(uow, milestone_id)
        return DisputeView(row.id, milestone_id, row.amount_cents, row.reason, row.status,
                           row.due_by, evidence, row.submitted_at is not None)


def evidence_pack(uow: UnitOfWork, milestone_id: int) -> dict:
    """Stripe evidence fields written from the local records: the contract, the milestone,
    the submission with its note and link, the approval, messages, invoices."""
    m = uow.milestones.get(milestone_id)
    contract = uow.contracts.get(m.contract_id)
    job, trainer = uow.jobs.get(contract.job_id), uow.trainers.get(contract.trainer_id)
    delivered = m.submitted_at.date().isoformat() if m.submitted_at else ""
    return {
        "product_description": (
            f"Milestone “{m.title}” of the contract with {trainer.name} ({trainer.email}) on "
            f"the project “{job.title}”, hired {contract.hired_on.isoformat()}, for "
            f"{Money(m.amount_cents).format()}.\n{m.description}").strip(),
        "service_date": delivered,
        "service_documentation": _delivery(m, _member_name(uow, m.approved_by)),
        "customer_communication": _messages(uow, trainer.id),
        "uncategorized_text": _invoices(uow, milestone_id),
    }


def _member_name(uow: UnitOfWork, login: str | None) -> str:
    """The approving member by name (team and solo alike), else their login."""
    row = uow.members.by_login(login) if login else None
    return row.name if row is not None else (login or "")


def _delivery(m, approver: str = "") -> str:
    lines = []
    if m.submitted_at:
        lines.append(f"Delivered {m.submitted_at:%Y-%m-%d %H:%M} UTC"
                     + (f": {m.submission_note}" if m.submission_note else "."))
    if m.deliverable_url:
        lines.append(f"Deliverable: {m.deliverable_url}")
    if m.approved_at:
        lines.append(f"Approved {m.approved_at:%Y-%m-%d} by {approver or 'the agency'}.")
    return "\n".join(lines) or "Not delivered yet."


def _messages(uow: UnitOfWork, trainer_id: int) -> str:
    rows = uow.messages.subjects_for(trainer_id)
    return "\n".join(f"{row.at:%Y-%m-%d}: {row.subject}" for row in rows)


def _invoices(uow: UnitOfWork, milestone_id: int) -> str:
    rows = uow.invoices.for_milestone(milestone_id)
    return "\n".join(f"{row.number} ({row.issue_date.isoformat()}, "
                     f"{Money(row.amount_cents).format()}): "
                     + ", ".join(f"{label} {ref}" for label, ref in json.loads(row.stripe_refs))
                     for row in rows)


def save_evidence(factory: UnitOfWorkFactory, gateway: PaymentGateway, dispute_id: str,
                  evidence: dict, submit: bool) -> str:
    """Save the evidence at Stripe (``submit=False`` stages it; ``True`` submits it for
    review); the books keep what was sent. Network: call off the GUI thread."""
    require_in(factory, Capability.REFUND)
    evidence = {key: (evidence.get(key) or "").strip() for key in EVIDENCE_FIELDS}
    with factory() as uow:
        row = uow.disputes.get(dispute_id)
        if row is None or not is_open(row.status):
            raise DomainError("This dispute is closed: nothing can be sent any more.")
    try:
        info = gateway.update_dispute(dispute_id, {k: v for k, v in evidence.items() if v},
                                      submit)
    except GatewayError as error:
        raise DomainError(f"Stripe did not take the evidence: {error.message}") from None
    with factory() as uow:
        apply_dispute(uow, info)
        uow.disputes.save(dispute_id, evidence=json.dumps(evidence, ensure_ascii=False),
                          submitted_at=uow.now if submit else None, updated_at=uow.now)
        uow.audit("dispute", None, "evidence submitted" if submit else "evidence saved",
                  after={"dispute": dispute_id, "status": info.status})
        uow.commit()
    return info.status
