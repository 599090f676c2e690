"""Stripe's ``Idempotency-Key`` semantics for the sandbox emulator's
``POST /v1/...`` requests: the first result is saved and replayed, other
parameters (or another endpoint) are refused, a key still in progress answers
409, and keys are forgotten after 24 h.

:data:`IDEMPOTENCY` holds the records (process-global, like localstripe's
store); :func:`opentrain_desk.sandbox.faults.api_middleware` applies them.

Part of :mod:`opentrain_desk.sandbox.emulator`. State files written before this
module existed pickled its classes as ``opentrain_desk.sandbox.faults.*``,
which therefore re-exports them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .wire import _new_request_id, _stripe_error_response

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
MAX_IDEMPOTENCY_KEY_LENGTH = 255


@dataclass(frozen=True)
class SavedResult:
    """What a key replays: the first answer's status, body and headers."""

    status: int
    body: bytes
    content_type: str
    request_id: str
    should_retry: str | None


@dataclass
class IdempotencyRecord:
    endpoint: str
    params_digest: str
    created: float
    result: SavedResult | None = None  # None while the first request runs


#: Stripe never saves these answers: the key stays free for a retry.
_NOT_SAVED = frozenset({401, 429})


class IdempotencyStore:
    """Idempotency records scoped by (API key digest, key), oldest first.

    Runs on the server loop; the lock covers the Python-side helpers
    (expire, snapshot, restore) called from other threads."""

    def __init__(self, ttl: float = IDEMPOTENCY_TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], IdempotencyRecord] = {}

    def claim(self, scope: str, key: str, endpoint: str, params: Any) -> Claim:
        """Start a request with ``key``: own the key, or get the answer to
        send instead (replay, 400 other parameters, 409 in progress)."""
        slot = (_digest(scope), key)
        digest = _digest(json.dumps(params, sort_keys=True, default=str))
        with self._lock:
            self._prune()
            record = self._records.get(slot)
            if record is None:
                self._records[slot] = IdempotencyRecord(endpoint, digest, self.clock())
                return Claim(self, slot)
        return Claim(None, None, _answer_for(record, key, endpoint, digest))

    def complete(self, slot: tuple[str, str], response: web.StreamResponse) -> None:
        with self._lock:
            record = self._records.get(slot)
            if record is None:
                return
            result = _saved_result(response)
            if result is None:
                del self._records[slot]
            else:
                record.result = result

    def release(self, slot: tuple[str, str]) -> None:
        with self._lock:
            record = self._records.get(slot)
            if record is not None and record.result is None:
                del self._records[slot]

    def expire(self, older_than: float = 0.0) -> int:
        """Forget completed keys at least ``older_than`` seconds old (Stripe
        prunes keys after 24 h); returns how many were forgotten."""
        now = self.clock()
        with self._lock:
            old = [slot for slot, record in self._records.items() if record.result is not None
                   and (older_than <= 0 or now - record.created >= older_than)]
            for slot in old:
                del self._records[slot]
        return len(old)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def snapshot(self) -> dict[tuple[str, str], IdempotencyRecord]:
        """The completed records (what a restarted Stripe still knows)."""
        with self._lock:
            return {slot: record for slot, record in self._records.items()
                    if record.result is not None}

    def restore(self, saved: Mapping[tuple[str, str], IdempotencyRecord]) -> None:
        with self._lock:
            self._records = dict(saved)

    def _prune(self) -> None:
        """Drop expired records; they are in creation order, so stop at the
        first live one."""
        deadline = self.clock() - self.ttl
        for slot, record in list(self._records.items()):
            if record.created > deadline:
                break
            if record.result is not None:
                del self._records[slot]


@dataclass
class Claim:
    """One request's hold on its idempotency key (``store`` is None when the
    request does not own a key: no key given, or ``answer`` is set)."""

    store: IdempotencyStore | None
    slot: tuple[str, str] | None
    answer: web.StreamResponse | None = None

    def complete(self, response: web.StreamResponse) -> None:
        if self.store is not None and self.slot is not None:
            self.store.complete(self.slot, response)
            self.store = None

    def release(self) -> None:
        if self.store is not None and self.slot is not None:
            self.store.release(self.slot)
            self.store = None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _failed_validation(status: int, body: bytes) -> bool:
    """A 400 for invalid parameters (``parameter_*`` codes, or localstripe's
    code-less "Bad request"): Stripe saves no result, as no endpoint began
    executing."""
    if status != 400:
        return False
    try:
        code = json.loads(body)["error"].get("code")
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return code is None or str(code).startswith("parameter_")


def _saved_result(response: web.StreamResponse) -> SavedResult | None:
    """What the key saves, or None when Stripe would save nothing (401, 429,
    parameter validation errors)."""
    body = getattr(response, "body", None)
    if (response.status in _NOT_SAVED or not isinstance(body, bytes)
            or _failed_validation(response.status, body)):
        return None
    return SavedResult(
        status=response.status,
        body=body,
        content_type=response.headers.get("Content-Type", "application/json"),
        request_id=response.headers.get("Request-Id") or _new_request_id(),
        should_retry=response.headers.get("Stripe-Should-Retry"),
    )


def _answer_for(record: IdempotencyRecord, key: str, endpoint: str,
                digest: str) -> web.Response:
    if record.endpoint != endpoint:
        return _idempotency_error(
            400, None,
            f"Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{record.endpoint}' vs '{endpoint}'). Try using a key other "
            f"than '{key}' if you meant to execute a different request.")
    if record.params_digest != digest:
        return _idempotency_error(
            400, None,
            f"Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            f"execute a different request.")
    if record.result is None:
        return _idempotency_error(
            409, "idempotency_key_in_use",
            "There is currently another in-progress request using this Idempotent Key "
            "(that probably means you submitted twice, and the other request is still "
            f"going through): '{key}'. Please try again later.")
    return _replay(record.result)


def _idempotency_error(status: int, code: str | None, message: str) -> web.Response:
    response = _stripe_error_response(status, "idempotency_error", code, message)
    response.headers["Request-Id"] = _new_request_id()
    return response


def _replay(result: SavedResult) -> web.Response:
    headers = {"Content-Type": result.content_type, "Request-Id": _new_request_id(),
               "Original-Request": result.request_id, "Idempotent-Replayed": "true"}
    if result.should_retry is not None:
        headers["Stripe-Should-Retry"] = result.should_retry
    return web.Response(status=result.status, body=result.body, headers=headers)


#: Idempotency-Key records (process-global like localstripe's store); cleared by reset().
IDEMPOTENCY = IdempotencyStore()
