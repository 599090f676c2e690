"""Reports' period arithmetic (pure: no Qt, no database)."""
from __future__ import annotations

from datetime import date

import pytest

from opentrain_desk.domain.periods import (
    PERIODS,
    add_months,
    chart_range,
    last_of_month,
    period_name,
    period_range,
)


@pytest.mark.parametrize("month, n, expected", [
    (date(2026, 3, 1), 0, date(2026, 3, 1)), (date(2026, 3, 1), 1, date(2026, 4, 1)),
    (date(2026, 12, 1), 1, date(2027, 1, 1)), (date(2026, 1, 1), -1, date(2025, 12, 1)),
    (date(2026, 3, 1), -11, date(2025, 4, 1)), (date(2026, 3, 1), -27, date(2023, 12, 1)),
    (date(2026, 3, 1), 24, date(2028, 3, 1))])
def test_add_months(month, n, expected):
    assert add_months(month, n) == expected


def test_last_of_month_knows_leap_years():
    assert last_of_month(date(2024, 2, 10)) == date(2024, 2, 29)
    assert last_of_month(date(2026, 2, 1)) == date(2026, 2, 28)
    assert last_of_month(date(2026, 12, 31)) == date(2026, 12, 31)


@pytest.mark.parametrize("today, period, expected", [
    (date(2026, 3, 15), "All dates", (None, None)),
    (date(2026, 3, 15), "This month", (date(2026, 3, 1), date(2026, 3, 15))),
    (date(2026, 3, 15), "Last month", (date(2026, 2, 1), date(2026, 2, 28))),
    (date(2026, 1, 5), "Last month", (date(2025, 12, 1), date(2025, 12, 31))),
    (date(2024, 3, 1), "Last month", (date(2024, 2, 1), date(2024, 2, 29))),
    (date(2026, 3, 15), "This year", (date(2026, 1, 1), date(2026, 3, 15))),
    (date(2026, 3, 15), "Last year", (date(2025, 1, 1), date(2025, 12, 31))),
    (date(2026, 3, 15), "Custom range", None)])
def test_period_range(today, period, expected):
    assert period_range(period, today) == expected


def test_every_offered_period_is_known_and_others_are_refused():
    for period in PERIODS:
        period_range(period, date(2026, 3, 15))
    with pytest.raises(ValueError):
        period_range("Next decade", date(2026, 3, 15))


def test_chart_range_is_twelve_months_without_a_start():
    today = date(2026, 3, 15)
    assert chart_range(None, None, today) == (date(2025, 4, 1), date(2026, 3, 31))
    assert chart_range(None, date(2025, 12, 10), today) == (date(2025, 1, 1),
                                                            date(2025, 12, 31))
    assert chart_range(date(2026, 3, 4), date(2026, 3, 18), today) == (date(2026, 3, 1),
                                                                       date(2026, 3, 31))
    assert chart_range(date(2024, 2, 29), None, today) == (date(2024, 2, 1),
                                                           date(2026, 3, 31))


def test_period_name_for_file_names():
    today = date(2026, 3, 15)
    assert period_name(date(2026, 3, 1), date(2026, 3, 31), today) == "2026-03"
    assert period_name(date(2024, 2, 1), date(2024, 2, 29), today) == "2024-02"
    assert period_name(date(2026, 3, 1), date(2026, 3, 30), today) == (
        "2026-03-01 to 2026-03-30")
    assert period_name(date(2026, 1, 1), date(2026, 3, 31), today) == (
        "2026-01-01 to 2026-03-31")
    assert period_name(None, date(2026, 3, 31), today) == "2026-03-15"
    assert period_name(None, None, today) == "2026-03-15"
