"""Money checks shared by the demo and chaos tests: the books against Stripe's objects."""
from __future__ import annotations

import sqlalchemy as sa

from opentrain_desk.domain.milestones import PayoutStatus
from opentrain_desk.persistence.orm import contracts, milestones


def assert_money_equals_stripe(engine, gateway) -> None:
    """For every contract: charges - refunds - transfers at Stripe == what the books' own
    money records say is held (issue 12's invariant; see ``books_ledger``)."""
    with engine.connect() as conn:
        books = conn.execute(sa.select(milestones.c.id, milestones.c.contract_id,
                                       milestones.c.status, milestones.c.payout_status,
                                       milestones.c.amount_cents,
                                       milestones.c.payment_intent_id)).all()
        assert conn.scalar(sa.select(sa.func.count()).select_from(contracts)) > 0
    charges = {pi.id: pi for pi in gateway.v1.payment_intents.list(
        {"limit": 100}).auto_paging_iter() if pi.status == "succeeded" and not pi.invoice}
    refunds: dict[str, int] = {}
    for refund in gateway.v1.refunds.list({"limit": 100}).auto_paging_iter():
        if refund.status in ("succeeded", "pending"):
            refunds[refund.payment_intent] = (refunds.get(refund.payment_intent, 0)
                                              + refund.amount)
    for dispute in gateway.v1.disputes.list({"limit": 100}).auto_paging_iter():
        if dispute.status == "lost":  # taken back by the card issuer: like a refund
            refunds[dispute.payment_intent] = (refunds.get(dispute.payment_intent, 0)
                                               + dispute.amount)
    transfers: dict[str, int] = {}
    for transfer in gateway.v1.transfers.list({"limit": 100}).auto_paging_iter():
        key = transfer.metadata["milestone_id"]
        transfers[key] = (transfers.get(key, 0) + transfer.amount
                          - int(transfer.amount_reversed or 0))  # reversed: back to us
    ledger = books_ledger(engine)
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
                                               + ledger.get(row.id, 0))
    assert per_contract_stripe == per_contract_books


def books_ledger(engine) -> dict[int, int]:
    """What the books hold per milestone: its funding charge, less refunds (in the app or
    recorded from Stripe), lost disputes and payouts that were not reversed."""
    from opentrain_desk.domain.operations import OperationKind, OperationStatus
    from opentrain_desk.persistence.orm import disputes, stripe_operations
    op = stripe_operations.c
    held: dict[int, int] = {}
    with engine.connect() as conn:
        for kind, milestone_id, amount in conn.execute(
                sa.select(op.kind, op.milestone_id, op.amount_cents).where(
                    op.status == OperationStatus.SUCCEEDED.name,
                    op.milestone_id.is_not(None))):
            sign = 1 if kind is OperationKind.FUND_MILESTONE else -1
            held[milestone_id] = held.get(milestone_id, 0) + sign * amount
        for milestone_id, amount in conn.execute(sa.select(
                milestones.c.id, stripe_operations.c.amount_cents).join(
                stripe_operations, stripe_operations.c.milestone_id == milestones.c.id).where(
                milestones.c.payout_status == PayoutStatus.REVERSED.name,
                op.kind == OperationKind.PAYOUT.name,
                op.status == OperationStatus.SUCCEEDED.name)):
            held[milestone_id] += amount  # the transfer came back
        for milestone_id, amount in conn.execute(sa.select(
                disputes.c.milestone_id, disputes.c.amount_cents).where(
                disputes.c.status == "lost", disputes.c.milestone_id.is_not(None))):
            held[milestone_id] = held.get(milestone_id, 0) - amount
    return held
