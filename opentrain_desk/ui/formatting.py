"""How the UI writes money, dates, times and counts: one place, QLocale underneath.

Tables, filters, dialogs, the chart and status messages all format through here, so a
date looks the same everywhere (``Mar 05, 2026`` in an English locale) and counts are
grouped the user's way (``12,345``). Money is USD integer cents, written ``$1,234.56``
(``domain.money``): the currency, not the locale, decides that. Values that leave the
app (file names, CSV cells) stay ISO: :func:`iso_day`.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from PySide6.QtCore import QDate, QDateTime, QLocale, QTime, QTimeZone

from ..domain.money import format_cents

DAY_FORMAT = "MMM dd, yyyy"
MONTH_FORMAT = "MMM yyyy"
SHORT_DAY_FORMAT = "MMM dd"
TIME_FORMAT = "HH:mm"
EMPTY = "—"


def _locale() -> QLocale:
    return QLocale()


def money(cents: int | None) -> str:
    """``$1,234.56``; ``—`` for no amount."""
    return format_cents(cents) if cents is not None else EMPTY


def signed_money(cents: int) -> str:
    """``+$12.00`` / ``−$12.00`` for differences."""
    return ("+" if cents > 0 else "−" if cents < 0 else "") + format_cents(abs(cents))


def count(n: int) -> str:
    """``12,345`` in the user's grouping."""
    return _locale().toString(int(n))


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 invoice`` / ``12,345 invoices``."""
    return f"{count(n)} {noun if n == 1 else plural or noun + 's'}"


def _qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)


def day(value: date | datetime | None, empty: str = EMPTY) -> str:
    """A calendar day, ``Mar 05, 2026``; a datetime is shown in local time."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        value = local(value).date()
    return _locale().toString(_qdate(value), DAY_FORMAT)


def short_day(value: datetime, now: datetime | None = None) -> str:
    """``Nov 26`` this year, ``Nov 26, 2025`` before: for narrow list corners."""
    value, now = local(value), local(now or datetime.now(timezone.utc))
    if value.year != now.year:
        return day(value)
    return _locale().toString(_qdate(value.date()), SHORT_DAY_FORMAT)


def relative_moment(value: datetime, now: datetime | None = None) -> str:
    """``Today 14:05``, ``Yesterday 09:12``, ``Mar 03, 14:05`` or ``Mar 03, 2024``."""
    value, now = local(value), local(now or datetime.now(timezone.utc))
    days = (now.date() - value.date()).days
    if days == 0:
        return f"Today {time_of_day(value)}"
    if days == 1:
        return f"Yesterday {time_of_day(value)}"
    if value.year == now.year:
        return f"{short_day(value, now)}, {time_of_day(value)}"
    return day(value)


def month(value: date) -> str:
    """``Mar 2026``."""
    return _locale().toString(_qdate(value), MONTH_FORMAT)


def moment(value: datetime | None, empty: str = EMPTY) -> str:
    """A point in time in local time: ``Mar 05, 2026 14:02``."""
    if value is None:
        return empty
    value = local(value)
    return f"{day(value.date())} {time_of_day(value)}"


def time_of_day(value: datetime) -> str:
    """``14:02`` (local time)."""
    value = local(value)
    return _locale().toString(QTime(value.hour, value.minute), TIME_FORMAT)


def local(value: datetime) -> datetime:
    """A stored UTC datetime (naive ones are UTC) in the machine's time zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone()


def iso_day(value: date | None = None) -> str:
    """``2026-03-05`` for file names and exports (today when not given)."""
    return (value or date.today()).isoformat()


def qdatetime(value: datetime) -> QDateTime:
    """For widgets that want a QDateTime (UTC kept)."""
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    utc = value.astimezone(timezone.utc)
    return QDateTime(_qdate(utc.date()), QTime(utc.hour, utc.minute, utc.second),
                     QTimeZone.utc())
