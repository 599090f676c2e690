"""Which notifications make a desktop notice (pure: no Qt, no database)."""
from __future__ import annotations

from datetime import datetime, timezone

from opentrain_desk.services.desktop_notices import NOTICE_KINDS, plan_notice
from opentrain_desk.services.read_models import NEEDS_A_PERSON, NotificationRow

AT = datetime(2026, 1, 5, tzinfo=timezone.utc)


def row(id_, kind="submitted", title=None, read=False, milestone=7):
    return NotificationRow(id_, AT, kind, title or f"n{id_}", "first line\nsecond", 3, 5,
                           milestone, AT if read else None)


def test_one_new_one_that_needs_a_person_opens_its_milestone():
    notice = plan_notice([row(4, "payout failed", "Payout failed")], seen_id=3)
    assert (notice.title, notice.body, notice.notification_ids) == ("Payout failed",
                                                                     "first line", (4,))
    assert notice.opens_milestone and (notice.job_id, notice.contract_id,
                                       notice.milestone_id) == (3, 5, 7)


def test_news_read_and_already_seen_ones_make_none():
    assert plan_notice([row(4, "paid out"), row(5, "refunded")], seen_id=0) is None
    assert plan_notice([row(4, read=True)], seen_id=0) is None
    assert plan_notice([row(4), row(3)], seen_id=4) is None
    assert set(NOTICE_KINDS) == set(NEEDS_A_PERSON)
    assert {"submitted", "payout failed", "disputed", "funding failed"} <= set(NOTICE_KINDS)


def test_a_burst_is_one_summary_newest_first_without_a_milestone():
    rows = [row(i, "disputed" if i % 2 else "submitted") for i in range(10, 15)]
    notice = plan_notice([*rows, row(16, "paid out")], seen_id=9)
    assert notice.title == "5 new notifications need you"
    assert notice.body == "n14\nn13\nn12\nand 2 more"
    assert notice.notification_ids == (10, 11, 12, 13, 14) and not notice.opens_milestone
    two = plan_notice(rows[:2], seen_id=0)
    assert (two.title, two.body) == ("2 new notifications need you", "n11\nn10")
