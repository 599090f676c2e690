"""Removing secrets from text: one rule set for logs, crash reports and the Stripe error
messages shown to users (no imports beyond ``re``: cheap to use anywhere).

What is redacted:

* Stripe secret and restricted keys (``sk_live_…``, ``sk_test_…``, ``rk_live_…``,
  ``rk_test_…``) and webhook signing secrets (``whsec_…``);
* client secrets: ``pi_…_secret_…`` / ``seti_…_secret_…`` values anywhere, and whatever
  follows ``client_secret`` as a key (``client_secret=…``, ``"client_secret": "…"``);
* bearer / basic credentials (``Authorization: Bearer …``).
"""
from __future__ import annotations

import re

__all__ = ["redact"]

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # key-value forms first, so the value is gone whatever it looks like
    (re.compile(r"""(?i)(["']?client_secret["']?\s*[:=]\s*["']?)[^"'\s,;&}]+"""),
     r"\1[REDACTED]"),
    (re.compile(r"""(?i)(authorization["']?\s*[:=]\s*["']?(?:bearer\s+|basic\s+)?)"""
                r"""[^"'\s,;}]+"""), r"\1[REDACTED]"),
    (re.compile(r"(?i)\b(bearer\s+)(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}"), r"\1[REDACTED]"),
    # no \b before keys: "0sk_live_…" or "x_sk_live_…" must not slip through
    (re.compile(r"(pi|seti|cs|src)_[A-Za-z0-9]+_secret_[A-Za-z0-9_]+"),
     r"\1_[REDACTED client_secret]"),
    (re.compile(r"(sk|rk)_(live|test)_[A-Za-z0-9_]+"), r"\1_\2_[REDACTED]"),
    (re.compile(r"whsec_[A-Za-z0-9_]+"), "whsec_[REDACTED]"),
)


def redact(text: str) -> str:
    """``text`` with every secret the rules above know replaced by ``[REDACTED]``."""
    if not text:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
