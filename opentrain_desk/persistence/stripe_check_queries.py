"""What "Check against Stripe" compares: milestones with their charge and payout, in one
query (plain rows, no ORM objects)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .orm import contracts, jobs, milestones, trainers


def books_for_check(session: Session) -> tuple[dict, dict]:
    """``({milestone id: (status, payout status, amount, payment intent, label)},
    {milestone id: trainer's connected account})``."""
    m, j, t = milestones.c, jobs.c, trainers.c
    query = (sa.select(m.id, m.status, m.payout_status, m.amount_cents, m.payment_intent_id,
                       m.title, j.title.label("job"), t.stripe_account_id)
             .select_from(milestones.join(contracts, contracts.c.id == m.contract_id)
                          .join(jobs, j.id == contracts.c.job_id)
                          .join(trainers, t.id == contracts.c.trainer_id)))
    books, accounts = {}, {}
    for row in session.execute(query):
        books[row.id] = (row.status, row.payout_status, row.amount_cents,
                         row.payment_intent_id or "", f"{row.job} — {row.title}")
        if row.stripe_account_id:
            accounts[row.id] = row.stripe_account_id
    return books, accounts

