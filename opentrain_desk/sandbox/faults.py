"""How the sandbox emulator fails and replays, the way Stripe does.

* :class:`Fault` / :class:`FaultInjector`: rules that make the next matching
  API requests fail, either *before* execution (nothing happens server-side)
  or *after* it (the write is applied, then the answer is lost, replaced by a
  5xx, or delayed past the client's timeout).
* :mod:`.idempotency`: Stripe's ``Idempotency-Key`` semantics for
  ``POST /v1/...`` (the first result is saved and replayed, other parameters
  are refused, a key still in progress answers 409).
* :func:`api_middleware`: the aiohttp middleware tying both together with the
  persistence hook (state written before the answer is sent).

Part of :mod:`opentrain_desk.sandbox.emulator`, which re-exports the public names.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from aiohttp import web
from localstripe.errors import UserError

from .idempotency import (  # noqa: F401 - re-exported: state files pickled the records as faults.*
    IDEMPOTENCY_TTL_SECONDS,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    Claim,
    IdempotencyRecord,
    IdempotencyStore,
    SavedResult,
    _idempotency_error,
)
from .wire import (  # the prefixes were defined here: faults.SANDBOX_PREFIX still works
    API_KEY_STATE,
    CONFIG_PREFIX,
    SANDBOX_PREFIX,
    _new_request_id,
    _stripe_error_response,
)

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    from localstripe import server as ls_server

__all__ = ["Fault", "FaultInjector", "IdempotencyStore", "api_middleware"]

MAX_FAULT_DELAY_SECONDS = 120.0

BEFORE, AFTER = "before", "after"

Handler = Callable[[web.Request], Any]
_log = logging.getLogger(__name__)


def _param_error(name: str, message: str, code: str = "parameter_invalid") -> UserError:
    return UserError(400, message, {"code": code, "param": name})


# --------------------------------------------------------------------------
# Fault rules
# --------------------------------------------------------------------------


@dataclass
class Fault:
    """Make the next ``count`` API requests under ``path_prefix`` (and
    ``method``, if given) fail.

    ``when="before"`` (default): wait ``delay`` seconds, then answer ``status``
    or, with ``drop``, close the connection without an answer; the request is
    not executed. With only ``delay`` it is then processed normally (a slow
    Stripe: a client timeout leaves the write applied server-side).

    ``when="after"``: the request is executed and its result saved under its
    idempotency key, then ``drop`` closes the connection without an answer,
    ``status`` answers that error instead (``sticky``: the error is what the key
    saves and replays, as Stripe replays a 500), ``delay`` holds the real answer.
    """

    path_prefix: str
    count: int = 1
    status: int | None = None
    code: str | None = None
    delay: float = 0.0
    method: str | None = None
    should_retry: bool | None = None
    when: str = BEFORE
    drop: bool = False
    sticky: bool = False

    @classmethod
    def from_params(cls, data: Mapping[str, Any]) -> Fault:
        """Validate a JSON or form body of ``POST /_sandbox/faults``."""
        unknown = sorted(set(data) - {field.name for field in fields(cls)})
        if unknown:
            raise _param_error(unknown[0], f"Received unknown parameter: {unknown[0]}",
                               "parameter_unknown")
        fault = cls(
            path_prefix=_path_prefix(data.get("path_prefix")),
            count=_as_int(data.get("count", 1), "count", minimum=1),
            status=None if data.get("status") in (None, "") else _as_int(data["status"], "status"),
            code=_as_optional_str(data.get("code"), "code"),
            delay=_as_delay(data.get("delay")),
            method=(_as_optional_str(data.get("method"), "method") or "").upper() or None,
            should_retry=_as_optional_bool(data.get("should_retry"), "should_retry"),
            when=_as_when(data.get("when")),
            drop=bool(_as_optional_bool(data.get("drop"), "drop")),
            sticky=bool(_as_optional_bool(data.get("sticky"), "sticky")),
        )
        fault._check()
        return fault

    def _check(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise _param_error("status", "status must be 400-599")
        if self.status is None and not self.delay and not self.drop:
            raise _param_error("status", "Give a status, a delay, drop or a combination.",
                               "parameter_missing")
        if self.drop and self.status is not None:
            raise _param_error("drop", "drop sends no answer: it cannot have a status")
        if self.sticky and (self.when != AFTER or self.status is None or self.status < 500):
            raise _param_error("sticky", "sticky needs when=after and a 5xx status "
                                         "(Stripe never saves 401 or 429 answers)")

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)

    def error_response(self) -> web.Response:
        """A Stripe-shaped error body for ``status``."""
        assert self.status is not None
        code = self.code or ("rate_limit" if self.status == 429 else None)
        error_type = "api_error" if self.status >= 500 else "invalid_request_error"
        response = _stripe_error_response(
            self.status, error_type, code,
            f"Sandbox fault injection: simulated HTTP {self.status}.")
        response.headers["Request-Id"] = _new_request_id()
        if self.should_retry is not None:
            response.headers["Stripe-Should-Retry"] = "true" if self.should_retry else "false"
        return response

    async def fail_before(self, request: web.Request) -> web.StreamResponse | None:
        """Apply a ``before`` rule: the failure to answer, or None to execute."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop:
            return _drop_connection(request)
        return self.error_response() if self.status is not None else None

    async def fail_after(self, request: web.Request, response: web.StreamResponse,
                         error: web.Response | None = None) -> web.StreamResponse:
        """Apply an ``after`` rule to the real ``response`` (already saved;
        ``error``: the error saved instead, for a sticky rule)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop:
            return _drop_connection(request)
        if self.status is not None:
            return error or self.error_response()
        return response


def _drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the TCP connection without an answer (the client sees
    ``RemoteDisconnected``). aiohttp then fails to write the returned response
    with a ``ConnectionError``, which it treats as a client disconnect: no
    traceback, and the server keeps serving other connections."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=444, reason="No Response")  # nginx's code, for access logs


def _path_prefix(value: Any) -> str:
    if value in (None, ""):
        raise _param_error("path_prefix", "Missing required param: path_prefix.",
                           "parameter_missing")
    if not isinstance(value, str) or not value.startswith("/"):
        raise _param_error("path_prefix", "path_prefix must start with /")
    return value


def _as_int(value: Any, name: str, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _param_error(name, f"Invalid integer: {value}", "parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        raise _param_error(name, f"{name} must be at least {minimum}", "parameter_invalid_integer")
    return number


def _as_optional_str(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _param_error(name, f"Invalid string: {name}", "parameter_invalid_string")
    return value


def _as_delay(value: Any) -> float:
    if value in (None, ""):
        return 0.0
    try:
        delay = float(value)
    except (TypeError, ValueError):
        raise _param_error("delay", f"Invalid delay: {value}") from None
    if not 0 <= delay <= MAX_FAULT_DELAY_SECONDS:
        raise _param_error("delay", "delay out of range")
    return delay


def _as_optional_bool(value: Any, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in ("true", "false"):
        raise _param_error(name, f"Invalid boolean: {value}")
    return text == "true"


def _as_when(value: Any) -> str:
    if value in (None, ""):
        return BEFORE
    if value not in (BEFORE, AFTER):
        raise _param_error("when", "when must be 'before' or 'after'")
    return str(value)


class FaultInjector:
    """Thread-safe queue of :class:`Fault` rules; the first matching rule with
    a remaining count is consumed by each API request."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._changed:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._changed:
            self._faults.clear()
            self._changed.notify_all()

    def pending(self) -> list[dict[str, Any]]:
        with self._changed:
            return [asdict(fault) for fault in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first rule matching this request."""
        with self._changed:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                        self._changed.notify_all()
                    return fault
        return None

    def wait_until_consumed(self, timeout: float) -> bool:
        """Block until every rule is used up (for tests: the faulted request
        has arrived and, being in its fault, holds its idempotency key)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._faults, timeout)

    def middleware(self, idempotency: IdempotencyStore | None = None,
                   persist: Callable[[], None] | None = None) -> Callable[..., Any]:
        """The API middleware applying these rules (see :func:`api_middleware`)."""
        return api_middleware(self, idempotency or IdempotencyStore(), persist)


# --------------------------------------------------------------------------
# The API middleware
# --------------------------------------------------------------------------


def _is_api(path: str) -> bool:
    return not path.startswith((SANDBOX_PREFIX, CONFIG_PREFIX))


def api_middleware(faults: FaultInjector, idempotency: IdempotencyStore,
                   persist: Callable[[], None] | None = None) -> Callable[..., Any]:
    """aiohttp middleware (inside authentication) for one API request:

    1. claim its ``Idempotency-Key`` (or get the replay / idempotency error);
    2. take the first matching fault rule; a ``before`` rule may fail it here
       (the key is released: a retry executes);
    3. execute (localstripe errors become their Stripe-shaped answers, so they
       are saved too), save the result under the key;
    4. ``persist()`` the state when the request may have changed it;
    5. apply an ``after`` rule, then answer.

    Other routes (``/_sandbox/``, ``/_config/``) only get step 4.
    """
    persist = persist or (lambda: None)

    @web.middleware
    async def stripe_like(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _is_api(request.path):
            response = await handler(request)
            if request.method != "GET":
                persist()
            return response
        claim = await _claim(idempotency, request)
        fault = faults.take(request.method, request.path)
        try:
            response = await _answer(request, handler, claim, fault, persist)
        finally:
            claim.release()  # only if still in progress (failed before execution)
        response.headers.setdefault("Request-Id", _new_request_id())
        return response

    return stripe_like


async def _answer(request: web.Request, handler: Handler, claim: Claim,
                  fault: Fault | None, persist: Callable[[], None]) -> web.StreamResponse:
    if fault is not None and fault.when == BEFORE:
        failed = await fault.fail_before(request)
        if failed is not None:
            return failed
    error = None
    if claim.answer is not None:
        response = claim.answer
    else:
        response = await _execute(handler, request)
        response.headers.setdefault("Request-Id", _new_request_id())  # saved with the result
        if fault is not None and fault.when == AFTER and fault.sticky:
            error = fault.error_response()  # what the key saves and replays
        claim.complete(error or response)
        if request.method != "GET":
            persist()
    if fault is not None and fault.when == AFTER:
        return await fault.fail_after(request, response, error)
    return response


async def _claim(idempotency: IdempotencyStore, request: web.Request) -> Claim:
    key = request.headers.get("Idempotency-Key", "").strip()
    if request.method != "POST" or not request.path.startswith("/v1/") or not key:
        return Claim(None, None)
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        return Claim(None, None, _idempotency_error(
            400, None, f"Idempotency keys may be at most {MAX_IDEMPOTENCY_KEY_LENGTH} "
                       "characters long."))
    params = dict(await ls_server.get_post_data(request, remove_auth=False) or {})
    return idempotency.claim(request.get(API_KEY_STATE, ""), key,
                             f"{request.method} {request.path}", params)


async def _execute(handler: Handler, request: web.Request) -> web.StreamResponse:
    """Run the request; Stripe-shaped answers for localstripe's errors and for
    crashes (500 ``api_error``, logged), so the idempotency layer saves them."""
    try:
        return await handler(request)
    except UserError as error:
        return error.to_response()
    except web.HTTPException:
        raise
    except Exception:  # noqa: BLE001 - any crash is Stripe's 500
        _log.exception("sandbox emulator: %s %s failed", request.method, request.path)
        return _stripe_error_response(500, "api_error", None,
                                      "An unknown error occurred in the sandbox emulator.")
