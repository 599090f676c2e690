import pytest
from hypothesis import given
from hypothesis import strategies as st

from opentrain_desk.domain.errors import InvalidAmount
from opentrain_desk.domain.money import MAX_CENTS, Money, format_cents


@pytest.mark.parametrize("text, cents", [
    ("1234.5", 123450), ("1,234.50", 123450), ("$1,234.50", 123450), ("  $12 ", 1200),
    ("0.01", 1), ("1000000", MAX_CENTS), ("1,000,000.00", MAX_CENTS), ("7.", 700),
])
def test_parse_accepts_what_people_type(text, cents):
    assert Money.parse(text).cents == cents


@pytest.mark.parametrize("text, message", [
    ("", "Enter an amount"), ("   ", "Enter an amount"),
    ("0", "greater than zero"), ("0.00", "greater than zero"),
    ("-5", "greater than zero"), ("$-5.00", "greater than zero"),
    ("1.234", "2 decimal places"), ("10.001", "2 decimal places"),
    ("1000000.01", "cannot exceed $1,000,000.00"), ("2,000,000", "cannot exceed"),
    ("NaN", "is not an amount"), ("inf", "is not an amount"), ("1e5", "is not an amount"),
    ("abc", "is not an amount"), ("12,34", "is not an amount"), ("1.2.3", "is not an amount"),
    ("$", "is not an amount"),
])
def test_parse_rejects_with_a_clear_message(text, message):
    with pytest.raises(InvalidAmount, match=message.replace("$", r"\$").replace(".", r"\.")):
        Money.parse(text)


def test_format():
    assert Money(123450).format() == "$1,234.50"
    assert Money(5).format() == "$0.05"
    assert Money(-250).format() == "-$2.50"
    assert Money(100_000_000).plain() == "1000000.00"
    assert format_cents(None) == "—"


def test_money_is_integer_cents_only():
    with pytest.raises(TypeError):
        Money(12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True)  # type: ignore[arg-type]


def test_arithmetic_stays_exact():
    total = Money(0)
    for _ in range(10):
        total = total + Money(10)  # ten cents ten times: no float drift
    assert total == Money(100)
    assert (Money(100) - Money(1)).cents == 99


valid_cents = st.integers(min_value=1, max_value=MAX_CENTS)


@given(valid_cents)
def test_format_parse_round_trip(cents):
    money = Money(cents)
    assert Money.parse(money.format()) == money
    assert Money.parse(money.plain()) == money


@given(valid_cents)
def test_plain_digits_parse_without_separators(cents):
    dollars, rest = divmod(cents, 100)
    assert Money.parse(f"{dollars}.{rest:02d}").cents == cents


@given(st.integers(min_value=MAX_CENTS + 1, max_value=10**15))
def test_above_limit_always_refused(cents):
    with pytest.raises(InvalidAmount):
        Money.parse(Money(cents).plain())


@given(st.text(max_size=20))
def test_parse_never_raises_anything_but_invalid_amount(text):
    try:
        money = Money.parse(text)
    except InvalidAmount as error:
        assert str(error)
    else:
        assert 0 < money.cents <= MAX_CENTS
