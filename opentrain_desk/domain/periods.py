"""Period arithmetic for Reports: the "Period" choices, the chart's window of months and
the period's name in export file names. Pure functions of dates (no Qt, no database), so
they are tested on their own (tests/unit/test_periods.py).

Months are calendar months; a month is named by its first day.
"""
from __future__ import annotations

from datetime import date, timedelta

__all__ = ["ALL_DATES", "CUSTOM_RANGE", "PERIODS", "add_months", "chart_range",
           "first_of_month", "last_of_month", "period_name", "period_range"]

ALL_DATES, CUSTOM_RANGE = "All dates", "Custom range"
#: What the Reports "Period" combo offers, in order.
PERIODS = (ALL_DATES, "This month", "Last month", "This year", "Last year", CUSTOM_RANGE)
CHART_MONTHS = 12


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after ``month``'s (``n`` may be negative)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def last_of_month(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)


def period_range(period: str, today: date) -> tuple[date | None, date | None] | None:
    """The inclusive ``(first, last)`` issue dates of a named period (``None`` = open end);
    ``None`` for "Custom range" (the dates the user typed stay)."""
    month = first_of_month(today)
    if period == ALL_DATES:
        return None, None
    if period == "This month":
        return month, today
    if period == "Last month":
        return add_months(month, -1), month - timedelta(days=1)
    if period == "This year":
        return date(today.year, 1, 1), today
    if period == "Last year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    if period == CUSTOM_RANGE:
        return None
    raise ValueError(f"unknown period {period!r}; one of {PERIODS}")


def chart_range(date_from: date | None, date_to: date | None, today: date
                ) -> tuple[date, date]:
    """The months the chart shows for a filter: from the filter's first month (without a
    start: ``CHART_MONTHS`` months up to the last one) to the end of the filter's last
    month (without an end: this month). Inclusive dates."""
    last = first_of_month(date_to or today)
    first = (first_of_month(date_from) if date_from is not None
             else add_months(last, -(CHART_MONTHS - 1)))
    return first, last_of_month(last)


def period_name(date_from: date | None, date_to: date | None, today: date) -> str:
    """For export file names: ``2026-03`` for one whole month, ``2026-03-04 to 2026-03-18``
    for another range, today's date when the range is open."""
    if date_from is not None and date_to is not None:
        if date_from.day == 1 and date_to == last_of_month(date_from):
            return date_from.strftime("%Y-%m")
        return f"{date_from.isoformat()} to {date_to.isoformat()}"
    return today.isoformat()
