"""Disputes (chargebacks) on funding charges: Stripe's states, in product words."""
from __future__ import annotations

from datetime import datetime

#: Stripe's dispute statuses, in the order a dispute moves through them.
ORDER = ("warning_needs_response", "warning_under_review", "needs_response", "under_review",
         "warning_closed", "won", "lost")
CLOSED = ("won", "lost", "warning_closed")
#: The evidence fields the app fills from its own records (Stripe's names).
EVIDENCE_FIELDS = ("product_description", "service_date", "service_documentation",
                   "customer_communication", "uncategorized_text")


def is_open(status: str) -> bool:
    return status not in CLOSED


def moves_forward(current: str | None, new: str) -> bool:
    """Events may arrive out of order: a dispute never goes back to an earlier state."""
    if current is None:
        return True
    rank = {status: i for i, status in enumerate(ORDER)}
    return rank.get(new, -1) >= rank.get(current, -1)


def countdown(due_by: datetime | None, now: datetime) -> str:
    """``evidence due in 5 days`` / ``evidence due today`` / ``evidence overdue``."""
    if due_by is None:
        return ""
    seconds = (due_by - now).total_seconds()
    if seconds < 0:
        return "evidence overdue"
    days = int(seconds // 86_400)
    if days == 0:
        return "evidence due today"
    return f"evidence due in {days} day{'s' if days != 1 else ''}"
