"""Secrets never reach a log file: Stripe keys, client secrets, bearer tokens (no Qt, no DB)."""
from __future__ import annotations

import logging
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrain_desk.hygiene.logs import (BACKUP_COUNT, LOG_FILE, MAX_BYTES, RedactingFilter,
                                         install_file_logging, redact)

LIVE_KEY = "sk_live_51HqL2bCdEfGhIjKlMnOpQrStUv"
SECRETS = [
    LIVE_KEY, "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "rk_live_51HqL2bRestricted0000",
    "rk_test_51HqL2bRestricted1111", "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8H",
    "seti_1NqJ7e2eZvKYlo2C_secret_OdB1xv6WBDrq5R0N", "whsec_abc123def456",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_each_kind_of_secret_is_redacted(secret):
    text = f"request failed for {secret} (retrying)"
    cleaned = redact(text)
    assert secret not in cleaned
    assert secret[-6:] not in cleaned
    assert cleaned.startswith("request failed for ") and cleaned.endswith(" (retrying)")
    assert "[REDACTED" in cleaned


@pytest.mark.parametrize("text, secret", [
    ('{"id": "pi_1", "client_secret": "opaque-value-42"}', "opaque-value-42"),
    ("client_secret=opaque-value-42&amount=100", "opaque-value-42"),
    ("{'client_secret': 'opaque-value-42'}", "opaque-value-42"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
    ("headers={'Authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "dXNlcjpwYXNzd29yZA"),
    ("sent bearer 0123456789abcdef to the proxy", "0123456789abcdef"),
])
def test_key_value_and_header_forms_are_redacted(text, secret):
    assert secret not in redact(text)


@pytest.mark.parametrize("text", [
    "Funded milestone 12 for $1,234.50 (pi_3MtwBwLkdIwHu7ix28a3tqPa)",
    "publishable key pk_test_TYooMQauvdEDq54NiTphI7jx is not a secret",
    "the bearer of bad news", "basic plan selected",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


@settings(max_examples=60, deadline=None)
@given(prefix=st.sampled_from(["sk_live_", "sk_test_", "rk_live_", "rk_test_"]),
       body=st.text(string.ascii_letters + string.digits, min_size=8, max_size=99),
       before=st.text(max_size=30), after=st.sampled_from(["", " ", ".", "\n", "'", '"', ","]))
def test_no_stripe_key_survives_in_any_context(prefix, body, before, after):
    assert prefix + body not in redact(before + prefix + body + after)


def _record(msg, *args, exc_info=None, stack_info=None) -> logging.LogRecord:
    record = logging.LogRecord("opentrain_desk.test", logging.ERROR, __file__, 1, msg, args,
                               exc_info)
    record.stack_info = stack_info
    return record


def test_filter_redacts_arguments_exception_and_stack_text():
    try:
        raise ValueError(f"Stripe rejected {LIVE_KEY}")
    except ValueError:
        import sys
        exc_info = sys.exc_info()
    record = _record("saving key %s for %r", LIVE_KEY, {"client_secret": "cs_x_secret_y"},
                     exc_info=exc_info, stack_info=f"Stack (most recent call last):\n  {LIVE_KEY}")
    assert RedactingFilter().filter(record) is True  # redacts, never drops
    text = logging.Formatter("%(message)s").format(record)
    assert "ValueError: Stripe rejected sk_live_[REDACTED]" in text
    assert "Traceback (most recent call last)" in text
    assert LIVE_KEY not in text and "cs_x_secret_y" not in text
    assert LIVE_KEY not in record.getMessage() and LIVE_KEY not in record.stack_info


def test_bad_format_string_is_kept_and_redacted():
    record = _record("key %s and %s", LIVE_KEY)  # one argument short
    RedactingFilter().filter(record)
    assert LIVE_KEY not in record.getMessage() and "key %s and %s" in record.getMessage()


@pytest.fixture
def file_handler(tmp_path):
    root = logging.getLogger()
    level = root.level
    handler = install_file_logging(tmp_path / "logs")
    yield handler
    root.removeHandler(handler)
    handler.close()
    root.setLevel(level)


def test_log_file_is_rotating_redacted_and_installed_once(tmp_path, file_handler):
    assert file_handler.maxBytes == MAX_BYTES and file_handler.backupCount == BACKUP_COUNT
    assert install_file_logging(tmp_path / "logs") is file_handler  # no duplicate lines
    log = logging.getLogger("opentrain_desk.payments")
    log.warning("verifying %s", LIVE_KEY)
    try:
        raise RuntimeError(f"HTTP 401 Authorization: Bearer {LIVE_KEY}")
    except RuntimeError:
        log.exception("Stripe call failed")
    file_handler.doRollover()
    log.info("after rotation")
    file_handler.flush()
    current = (tmp_path / "logs" / LOG_FILE).read_text(encoding="utf-8")
    rotated = (tmp_path / "logs" / f"{LOG_FILE}.1").read_text(encoding="utf-8")
    assert "after rotation" in current
    assert "verifying sk_live_[REDACTED]" in rotated and "RuntimeError: HTTP 401" in rotated
    assert LIVE_KEY not in rotated + current and LIVE_KEY[8:] not in rotated + current


def test_stripe_error_messages_use_the_same_rules():
    """What the user reads from a failed Stripe call carries no key and no client secret."""
    import stripe

    from opentrain_desk.payments.stripe_gateway import to_gateway_error
    secret = "pi_3Q0abc_secret_Zx9" + "y" * 12
    key = "sk_test_" + "FAKEFAKEFAKEFAKEFAKE0000"
    body = {"error": {"message": f"No such key {key}; intent {secret}",
                      "type": "invalid_request_error"}}
    error = to_gateway_error(stripe.InvalidRequestError(body["error"]["message"], None,
                                                        json_body=body, http_status=400))
    assert key not in error.message and secret not in error.message
    assert "sk_test_[REDACTED]" in error.message and "[REDACTED client_secret]" in error.message
