"""Money checks shared by the demo and chaos tests: the books against Stripe's objects."""
from __future__ import annotations

import sqlalchemy as sa

from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.persistence.orm import contracts, invoices, milestones


def assert_money_equals_stripe(engine, gateway) -> None:
    """For every contract: charges - refunds - transfers at Stripe == what the books'
    milestone states say is held (issue 12's invariant)."""
    with engine.connect() as conn:
        books = conn.execute(sa.select(milestones.c.id, milestones.c.contract_id,
                                       milestones.c.status, milestones.c.payout_status,
                                       milestones.c.amount_cents,
                                       milestones.c.payment_intent_id)).all()
        pay = dict(conn.execute(sa.select(invoices.c.milestone_id, invoices.c.amount_cents)
                                .where(invoices.c.kind == "PAY")).all())
        assert conn.scalar(sa.select(sa.func.count()).select_from(contracts)) > 0
    charges = {pi.id: pi for pi in gateway.v1.payment_intents.list(
        {"limit": 100}).auto_paging_iter() if pi.status == "succeeded" and not pi.invoice}
    refunds: dict[str, int] = {}
    for refund in gateway.v1.refunds.list({"limit": 100}).auto_paging_iter():
        refunds[refund.payment_intent] = refunds.get(refund.payment_intent, 0) + refund.amount
    transfers: dict[str, int] = {}
    for transfer in gateway.v1.transfers.list({"limit": 100}).auto_paging_iter():
        key = transfer.metadata["milestone_id"]
        transfers[key] = (transfers.get(key, 0) + transfer.amount
                          - int(transfer.amount_reversed or 0))  # reversed: back to us
    per_contract_books: dict[int, int] = {}
    per_contract_stripe: dict[int, int] = {}
    for row in books:
        pi = row.payment_intent_id
        charged = charges[pi].amount if pi in charges else 0
        refunded = refunds.get(pi, 0)
        paid = transfers.get(str(row.id), 0)
        per_contract_stripe[row.contract_id] = (per_contract_stripe.get(row.contract_id, 0)
                                                + charged - refunded - paid)
        per_contract_books[row.contract_id] = (per_contract_books.get(row.contract_id, 0)
                                               + books_held(row, pay.get(row.id), refunded))
    assert per_contract_stripe == per_contract_books


def books_held(row, released: int | None, refunded: int) -> int:
    """What the books' states say the agency holds for one milestone."""
    if row.status in (MilestoneStatus.NOT_FUNDED, MilestoneStatus.FUNDING):
        return 0
    if row.status is not MilestoneStatus.PAID:
        return row.amount_cents - refunded  # funded, Refunding (nothing back yet), Refunded
    released = row.amount_cents if released is None else released
    remainder_back = row.amount_cents - released  # partial release: refunded at approval
    if row.payout_status is PayoutStatus.PAID_OUT:
        return row.amount_cents - released - min(refunded, remainder_back)
    if row.payout_status is PayoutStatus.REFUNDED:
        return row.amount_cents - refunded
    # payout pending, failed, or reversed (the money came back to the agency's balance)
    return row.amount_cents - min(refunded, remainder_back)
