"""Money as integer cents. Parsing and formatting happen only at the edges."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidAmount

MAX_CENTS = 100_000_000  # $1,000,000.00
_AMOUNT = re.compile(r"^(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d*))?$")


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount of US dollars, held as an integer number of cents."""

    cents: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not isinstance(self.cents, int) or isinstance(self.cents, bool):
            raise TypeError("Money is integer cents")
        if self.currency != "USD":
            raise InvalidAmount(f"Only USD is supported, not {self.currency}.")

    @classmethod
    def parse(cls, text: str) -> Money:
        """Parse what a person types: ``1234.5``, ``1,234.50``, ``$1,234.50``."""
        cleaned = (text or "").strip().replace(" ", "")
        if not cleaned:
            raise InvalidAmount("Enter an amount, for example 1,250.00.")
        if cleaned.startswith("-") or cleaned.startswith("$-"):
            raise InvalidAmount("The amount must be greater than zero.")
        cleaned = cleaned.removeprefix("$").removeprefix("USD")
        match = _AMOUNT.match(cleaned)
        if not match:
            raise InvalidAmount(f"“{text.strip()}” is not an amount. Use digits, e.g. 1,250.00.")
        frac = match.group("frac") or ""
        if len(frac) > 2:
            raise InvalidAmount("Use at most 2 decimal places (cents).")
        cents = int(match.group("int").replace(",", "")) * 100 + int(frac.ljust(2, "0"))
        return cls.checked(cents)

    @classmethod
    def checked(cls, cents: int) -> Money:
        """A positive amount within the per-milestone limit."""
        if cents <= 0:
            raise InvalidAmount("The amount must be greater than zero.")
        if cents > MAX_CENTS:
            raise InvalidAmount("The amount cannot exceed $1,000,000.00.")
        return cls(cents)

    def format(self) -> str:
        sign = "-" if self.cents < 0 else ""
        dollars, cents = divmod(abs(self.cents), 100)
        return f"{sign}${dollars:,}.{cents:02d}"

    def plain(self) -> str:
        """Plain decimal for exports: ``1234.50``."""
        sign = "-" if self.cents < 0 else ""
        dollars, cents = divmod(abs(self.cents), 100)
        return f"{sign}{dollars}.{cents:02d}"

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - other.cents, self.currency)

    def __str__(self) -> str:
        return self.format()


ZERO = Money(0)


def format_cents(cents: int | None) -> str:
    """Format cents for display; ``—`` where there is no amount."""
    return "—" if cents is None else Money(cents).format()
