"""What happens at Stripe reaches the books: Stripe's event list, applied once each.

A desktop app has no public address for webhooks, so every sync (at start, "Sync now",
periodically while online) reads ``GET /v1/events`` forward from a stored cursor and
applies each event in its own transaction, which also records the event id: an event
seen twice (a repeat, a re-scan after the cursor was lost) changes nothing. Handlers apply
the object's state, never a delta, and never move a state backwards, so events out of
order are harmless. Stripe keeps events 30 days: after a longer gap (or a lost cursor) the
objects themselves are listed and applied the same way.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..domain import disputes as dispute_rules
from ..domain.errors import ConcurrentChange
from ..domain.invoices import InvoiceKind
from ..domain.milestones import Action, MilestoneStatus, PayoutStatus
from ..domain.money import Money
from ..domain.operations import OperationKind
from . import funding, invoicing, refunds
from .notifications import notify
from .ports import (DisputeInfo, GatewayError, PaymentGateway, PaymentResult, RefundResult,
                    StripeEvent)
from .unit_of_work import UnitOfWork, UnitOfWorkFactory, WriteConflict
from .workspace_settings import event_cursor_key, events_synced_key

log = logging.getLogger(__name__)
RETENTION = timedelta(days=29)  # Stripe keeps events 30 days; re-scan objects past this


@dataclass
class SyncReport:
    applied: int = 0
    repeated: int = 0
    outcomes: dict = field(default_factory=dict)  # outcome -> count
    rescanned: bool = False


def sync(factory: UnitOfWorkFactory, gateway: PaymentGateway) -> SyncReport:
    """Apply every event newer than the cursor (oldest first); re-scan when needed."""
    report = SyncReport()
    with factory() as uow:
        cursor = uow.settings.get(event_cursor_key(gateway.mode))
        synced = uow.settings.get(events_synced_key(gateway.mode))
    stale = synced is not None and datetime.fromisoformat(synced) < _now() - RETENTION
    try:
        events = _newer_than(gateway, cursor) if cursor and not stale else _all(gateway)
    except GatewayError as error:
        if not cursor or error.code != "resource_missing":
            raise
        log.warning("event cursor %s is gone at Stripe: re-scanning", cursor)
        events, stale = _all(gateway), True
    if stale or not cursor:
        report.rescanned = True
        rescan_objects(factory, gateway, report)
    for event in events:
        _count(report, apply_event(factory, gateway, event))
    with factory() as uow:
        uow.settings.set(events_synced_key(gateway.mode), _now().isoformat())
        uow.commit()
    return report


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _count(report: SyncReport, outcome: str | None) -> None:
    if outcome is None:
        report.repeated += 1
        return
    report.applied += 1
    report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1


def _newer_than(gateway: PaymentGateway, cursor: str) -> list[StripeEvent]:
    """Stripe lists newest first; ``ending_before`` pages toward newer events."""
    found: list[StripeEvent] = []
    while True:
        page = gateway.list_events(ending_before=cursor)
        if not page.events:
            return found
        found += reversed(page.events)
        cursor = page.events[0].id
        if not page.has_more:
            return found


def _all(gateway: PaymentGateway) -> list[StripeEvent]:
    """Every event Stripe still keeps, oldest first."""
    found: list[StripeEvent] = []
    after = None
    while True:
        page = gateway.list_events(starting_after=after)
        found += page.events
        if not page.has_more or not page.events:
            return list(reversed(found))
        after = page.events[-1].id


def apply_event(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                event: StripeEvent) -> str | None:
    """Apply one event once; returns its outcome (None when it was applied before, here or
    by another worker at the same moment). A lost compare-and-set is re-tried; if it keeps
    losing, the error stops the sync before the cursor passes this event."""
    for attempt in range(3):
        try:
            return _apply_once(factory, gateway, event)
        except WriteConflict:
            continue  # another worker recorded it (or the cursor) first: look again
        except ConcurrentChange:
            if attempt == 2:
                raise
    return None


def _apply_once(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                event: StripeEvent) -> str | None:
    with factory() as uow:
        if uow.events.seen(event.id):
            return None
        handler = HANDLERS.get(event.type)
        outcome = handler(uow, gateway, event.data) if handler else "not handled"
        uow.events.record(event.id, event.type, event.created, uow.now, outcome)
        uow.settings.set(event_cursor_key(gateway.mode), event.id)
        uow.commit()
        return outcome


# -- handlers (each inside the event's transaction) -----------------------------------------

def _payment(uow: UnitOfWork, _gateway, data: dict) -> str:
    operation_id = (data.get("metadata") or {}).get("operation_id")
    operation = uow.operations.get_or_none(operation_id) if operation_id else None
    if operation is None or operation.kind is not OperationKind.FUND_MILESTONE:
        return "not in these books"
    return funding.apply_payment(uow, operation.id, payment_from(data))


def payment_from(data: dict) -> PaymentResult:
    charge = data.get("latest_charge")
    error = data.get("last_payment_error") or {}
    return PaymentResult(data["id"], data.get("status") or "",
                         charge if isinstance(charge, str) else (charge or {}).get("id", ""),
                         "", error.get("message") or "", data.get("metadata") or {},
                         int(data.get("amount") or 0))


def _refund(uow: UnitOfWork, _gateway, data: dict) -> str:
    return apply_refund_object(uow, refund_from(data))


def refund_from(data: dict) -> RefundResult:
    intent = data.get("payment_intent") or ""
    return RefundResult(data["id"], data.get("status") or "succeeded", int(data["amount"]),
                        intent if isinstance(intent, str) else intent.get("id", ""),
                        data.get("metadata") or {})


def apply_refund_object(uow: UnitOfWork, refund: RefundResult) -> str:
    """Our own refund (made through the outbox) or one made outside the app."""
    if refund.status == "failed":
        recorded = uow.operations.by_stripe_object(refund.id)
        if recorded is not None and recorded.status.name == "SUCCEEDED":
            return refunds.refund_failed_later(uow, recorded, refund)
    operation_id = refund.metadata.get("operation_id")
    ours = uow.operations.get_or_none(operation_id) if operation_id else None
    if ours is not None and ours.kind is OperationKind.REFUND:
        return refunds.apply_refund(uow, ours.id, refund)
    return refunds.record_outside_refund(uow, refund)


def _charge_refunded(uow: UnitOfWork, gateway, data: dict) -> str:
    """The charge's refunds: listed in the event when Stripe includes them, else asked."""
    listed = (data.get("refunds") or {}).get("data")
    intent = data.get("payment_intent") or ""
    found = ([refund_from(r) for r in listed] if listed is not None
             else gateway.list_refunds(intent) if intent else [])
    outcomes = [apply_refund_object(uow, refund) for refund in found]
    return ", ".join(sorted(set(outcomes))) or "no refunds"


def _dispute(uow: UnitOfWork, _gateway, data: dict) -> str:
    return apply_dispute(uow, DisputeInfo.from_stripe(data))


def apply_dispute(uow: UnitOfWork, info: DisputeInfo) -> str:
    """Upsert the dispute (never backwards); tell the employer when it opens and closes; a
    lost dispute takes the money back like a refund, with a credit note."""
    known = uow.disputes.get(info.id)
    if known is not None and not dispute_rules.moves_forward(known.status, info.status):
        return "older state ignored"
    milestone = uow.milestones.by_payment_intent(info.payment_intent_id)
    due = (datetime.fromtimestamp(info.due_by, timezone.utc) if info.due_by else None)
    closed = not dispute_rules.is_open(info.status)
    uow.disputes.save(info.id, milestone_id=milestone.id if milestone else None,
                      payment_intent_id=info.payment_intent_id, charge_id=info.charge_id,
                      amount_cents=info.amount, reason=info.reason, status=info.status,
                      due_by=due, closed_at=uow.now if closed else None,
                      created_at=uow.now, updated_at=uow.now)
    if milestone is None:
        return "not in these books"
    opened = known is None
    if opened:
        _tell(uow, milestone, "disputed", f"Dispute: {Money(info.amount).format()} on "
              f"“{milestone.title}”", f"Reason: {info.reason.replace('_', ' ')}. Evidence is "
              f"due by {due:%b %d, %Y}. Open the milestone to review and submit it."
              if due else f"Reason: {info.reason.replace('_', ' ')}.")
    if closed and (known is None or dispute_rules.is_open(known.status)):
        _closed(uow, milestone, info)
    uow.audit("milestone", milestone.id, f"dispute {info.status}",
              after={"dispute": info.id, "amount_cents": info.amount, "reason": info.reason})
    return "dispute opened" if opened else f"dispute {info.status}"


def _closed(uow: UnitOfWork, milestone, info: DisputeInfo) -> None:
    if info.status != "lost":
        _tell(uow, milestone, "dispute won", f"Dispute won: “{milestone.title}”",
              f"{Money(info.amount).format()} stays with the agency.")
        return
    before = milestone.snapshot()
    note = f"Dispute lost: {Money(info.amount).format()} went back to the card ({info.id})."
    if milestone.status in (MilestoneStatus.ACTIVE_FUNDED, MilestoneStatus.PENDING_APPROVAL):
        milestone.apply(Action.REFUNDED_AT_STRIPE, uow.now, note)
    else:
        milestone.status_note = note
    number = invoicing.issue_credit_note(uow, milestone.id, InvoiceKind.EMPLOYER_FUNDING,
                                         info.amount, f"Dispute lost ({info.reason})",
                                         info.id, None)
    uow.audit("milestone", milestone.id, "dispute lost", before, milestone.snapshot()
              | {"dispute": info.id, "debit_cents": info.amount, "credit_note": number})
    _tell(uow, milestone, "dispute lost", f"Dispute lost: “{milestone.title}”",
          f"{Money(info.amount).format()} was taken back by the card issuer; credit note "
          f"{number}.")


def _reversed(uow: UnitOfWork, _gateway, data: dict) -> str:
    operation = uow.operations.by_stripe_object(data["id"])
    if operation is None or operation.kind is not OperationKind.PAYOUT:
        return "not in these books"
    milestone = uow.milestones.get(operation.milestone_id, for_update=True)
    amount = int(data.get("amount_reversed") or 0)
    if amount <= 0:
        return "nothing reversed"
    if milestone.payout_status is PayoutStatus.REVERSED or data["id"] in milestone.status_note:
        return "already recorded"
    before = milestone.snapshot()
    if amount >= operation.amount_cents:
        milestone.payout_status = PayoutStatus.REVERSED
        invoicing.set_payment_status(uow, milestone.id, InvoiceKind.TRAINER_PAYOUT,
                                     "Reversed")
    milestone.status_note = (f"{Money(amount).format()} of the payout was reversed at Stripe "
                             f"({data['id']}).")
    uow.audit("milestone", milestone.id, "payout reversed", before, milestone.snapshot()
              | {"transfer": data["id"], "reversed_cents": amount})
    _tell(uow, milestone, "payout reversed", f"Payout reversed: “{milestone.title}”",
          milestone.status_note)
    return "payout reversed"


def _tell(uow: UnitOfWork, milestone, kind: str, title: str, body: str) -> None:
    contract = uow.contracts.get(milestone.contract_id)
    notify(uow, kind, title, body, job_id=contract.job_id, contract_id=contract.id,
           milestone_id=milestone.id)


HANDLERS = {
    "payment_intent.succeeded": _payment,
    "payment_intent.payment_failed": _payment,
    "payment_intent.processing": _payment,
    "refund.created": _refund,
    "refund.updated": _refund,
    "charge.refund.updated": _refund,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute,
    "charge.dispute.updated": _dispute,
    "charge.dispute.closed": _dispute,
    "charge.dispute.funds_withdrawn": _dispute,
    "charge.dispute.funds_reinstated": _dispute,
    "transfer.reversed": _reversed,
}


# -- older than Stripe keeps events: the objects themselves ---------------------------------

def rescan_objects(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                   report: SyncReport) -> None:
    """Refunds of every charge in the books, every dispute, every reversed transfer:
    applied like their events (each is idempotent by the object's id and state)."""
    with factory() as uow:
        intents = uow.milestones.payment_intents()
    for intent in intents:
        for refund in gateway.list_refunds(intent):
            _count(report, _in_tx(factory, lambda uow, r=refund: apply_refund_object(uow, r)))
    for info in gateway.list_disputes():
        _count(report, _in_tx(factory, lambda uow, i=info: apply_dispute(uow, i)))
    for transfer in gateway.list_transfers():
        if transfer.amount_reversed:
            data = {"id": transfer.id, "amount_reversed": transfer.amount_reversed}
            _count(report, _in_tx(factory, lambda uow, d=data: _reversed(uow, None, d)))


def _in_tx(factory: UnitOfWorkFactory, apply) -> str:
    with factory() as uow:
        outcome = apply(uow)
        uow.commit()
        return outcome
