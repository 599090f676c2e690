"""Stripe key shapes: mode from prefix, masking, redaction (no SDK import: cheap)."""
from __future__ import annotations

import re

from ..redaction import redact  # noqa: F401 - the one rule set, re-exported

KEY_PATTERN = re.compile(r"\b(sk|rk)_(test|live)_[A-Za-z0-9_]+")


def key_mode(key: str) -> str:
    """``test`` or ``live`` from the key's prefix; raises ValueError for anything else."""
    match = KEY_PATTERN.fullmatch(key.strip())
    if not match or len(key.strip()) < 20:
        raise ValueError("That is not a Stripe secret key. Paste a key that starts with "
                         "sk_test_, sk_live_, rk_test_ or rk_live_.")
    return match.group(2)


def mask_key(key: str) -> str:
    key = key.strip()
    return f"{key[:8]}…{key[-4:]}" if len(key) > 12 else "…"

