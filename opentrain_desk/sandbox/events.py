"""Stripe's event list for the sandbox emulator.

A desktop app has no public webhook address, so it reads ``GET /v1/events``
instead. This module makes localstripe's events look like Stripe's:

* every ``Event`` (localstripe's own and ours) gets ``api_version``,
  ``pending_webhooks: 0``, ``request: {id, idempotency_key}`` (the API request
  that caused it; ``null`` for changes Stripe makes on its own, which the
  ``/_sandbox/`` routes simulate) and a private sequence number, so events of
  the same ``created`` second keep a deterministic order;
* ``GET /v1/events`` is newest first with Stripe's cursors and the ``type``
  (``*`` wildcard), ``types[]`` and ``created[...]`` filters;
* ``POST /_sandbox/events/expire`` drops old events (Stripe keeps 30 days);
* charges emit ``charge.succeeded`` / ``charge.failed`` (localstripe does not).

Events live in localstripe's store (``event:evt_...``): saved with the state
file and cleared by ``reset()`` like every other object.

Part of :mod:`opentrain_desk.sandbox.emulator` (routes registered by
:mod:`.application`).
"""

from __future__ import annotations

import contextvars
import copy
import fnmatch
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import (
    Charge,
    Event,
    StripeObject,
    random_id,
    schedule_webhook,
    store,
)

from .base import _as_int, _created_predicate, _missing, _reject_unknown, stripe_error
from .lists import _list_response, _pop_page, _stored
from .routing import Handler, _body, _json, _query
from .wire import SANDBOX_PREFIX

#: The API version events are rendered with (what stripe-python 16.1 pins).
EVENT_API_VERSION = "2026-10-28.endive"
MAX_TYPES = 20

#: (request id, idempotency key) of the API request being handled, if any.
_REQUEST: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "sandbox_event_request", default=(None, None))

_seq_lock = threading.Lock()
_last_seq = 0


def _next_seq() -> int:
    """Strictly increasing across restarts (wall clock in ns, bumped on ties)."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns())
        return _last_seq


def _event_init(self: Event, type: str, data: StripeObject) -> None:  # noqa: A002
    """Replacement for localstripe's ``Event.__init__`` (Stripe's fields)."""
    StripeObject.__init__(self)
    self.type = type
    # deep copy: an export shares nested lists with the live object
    self.data = {"object": copy.deepcopy(data._export())}
    self.api_version = EVENT_API_VERSION
    self.pending_webhooks = 0
    request_id, key = _REQUEST.get()
    self.request = {"id": request_id, "idempotency_key": key}
    self._seq = _next_seq()


def emit(event_type: str, obj: StripeObject) -> Event:
    """Record an event whose ``data.object`` is ``obj`` as it is now (and send
    it to registered webhooks, as localstripe does). Call on the server loop."""
    event = Event(event_type, obj)
    schedule_webhook(event)
    return event


def _patch_charge_events() -> None:
    """``charge.succeeded`` / ``charge.failed`` before the PaymentIntent's own
    event, as Stripe orders them."""
    original = Charge._initialize_charge
    if getattr(original, "_sandbox_patched", False):
        return

    def _initialize_charge(self: Charge, on_success: Callable[[], None] | None = None,
                           on_failure_now: Callable[[], None] | None = None,
                           on_failure_later: Callable[[], None] | None = None) -> None:
        def succeeded() -> None:
            emit("charge.succeeded", self)
            if on_success:
                on_success()

        def failed_now() -> None:
            emit("charge.failed", self)
            if on_failure_now:
                on_failure_now()

        def failed_later() -> None:
            emit("charge.failed", self)
            if on_failure_later:
                on_failure_later()

        original(self, succeeded, failed_now, failed_later)
        if self.status == "succeeded" and not self.captured:
            emit("charge.succeeded", self)  # authorized, capture later

    _initialize_charge._sandbox_patched = True  # type: ignore[attr-defined]
    Charge._initialize_charge = _initialize_charge  # type: ignore[method-assign]


Event.__init__ = _event_init  # type: ignore[method-assign]
_patch_charge_events()


# --------------------------------------------------------------------------
# Request context: which API request caused an event
# --------------------------------------------------------------------------


@web.middleware
async def request_context_middleware(request: web.Request,
                                     handler: Handler) -> web.StreamResponse:
    """Innermost middleware: give each executed ``/v1/`` request its
    ``Request-Id`` up front, so the events it causes can name it."""
    if not request.path.startswith("/v1/"):
        token = _REQUEST.set((None, None))
        try:
            return await handler(request)
        finally:
            _REQUEST.reset(token)
    request_id = "req_" + random_id(14)
    key = request.headers.get("Idempotency-Key", "").strip() or None
    token = _REQUEST.set((request_id, key if request.method == "POST" else None))
    try:
        response = await handler(request)
    except UserError as error:
        response = error.to_response()
    finally:
        _REQUEST.reset(token)
    response.headers.setdefault("Request-Id", request_id)
    return response


# --------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------


def _sort_key(event: Event) -> tuple[int, int]:
    return (int(event.created), int(getattr(event, "_seq", 0)))


def newest_first() -> list[Event]:
    return sorted(_stored(Event), key=_sort_key, reverse=True)


def _type_matcher(pattern: str) -> Callable[[str], bool]:
    if "*" in pattern:
        return lambda event_type: fnmatch.fnmatchcase(event_type, pattern)
    return lambda event_type: event_type == pattern


def _event_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"type", "types", "created", "delivery_success"}))
    if query.get("type") not in (None, "") and query.get("types") not in (None, "", []):
        raise stripe_error(400, "parameters_exclusive",
                           "You may only specify one of these parameters: type, types.",
                           param="types")
    matchers: list[Callable[[str], bool]] = []
    if query.get("type") not in (None, ""):
        matchers.append(_type_matcher(str(query["type"])))
    types = query.get("types")
    if types not in (None, "", []):
        if isinstance(types, Mapping):  # types[0]=..&types[1]=..
            types = list(types.values())
        if not isinstance(types, list):
            types = [types]
        if len(types) > MAX_TYPES:
            raise stripe_error(400, "parameter_invalid",
                               f"You may pass at most {MAX_TYPES} types.", param="types")
        matchers.append(lambda t, wanted=frozenset(map(str, types)): t in wanted)
    if str(query.get("delivery_success", "")).lower() == "false":
        matchers.append(lambda _t: False)  # every sandbox event counts as delivered
    created = _created_predicate(query.get("created"))
    return lambda event: created(event) and all(match(event.type) for match in matchers)


async def _list_events(request: web.Request) -> web.Response:
    query = _query(request)
    page = _pop_page(query)
    keep = _event_predicate(query)
    return _json(_list_response(newest_first(), keep, "/v1/events", page))


async def _retrieve_event(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    event = store.get(f"{Event.object}:{event_id}")
    if event is None:
        raise _missing("event", event_id)
    return _json(event._export())


def expire(older_than: float = 0.0, now: float | None = None) -> int:
    """Drop events at least ``older_than`` seconds old (0: all of them), as
    Stripe forgets events after 30 days. Returns how many were dropped."""
    now = time.time() if now is None else now
    old = [key for key, event in store.items() if key.startswith(f"{Event.object}:")
           and (older_than <= 0 or now - event.created >= older_than)]
    for key in old:
        dict.__delitem__(store, key)
    return len(old)


async def _expire_events(request: web.Request) -> web.Response:
    """``POST /_sandbox/events/expire`` [``older_than`` seconds, default all]."""
    data = await _body(request)
    _reject_unknown(data, frozenset({"older_than"}))
    older_than = float(_as_int(data.get("older_than", 0), "older_than"))
    return _json({"expired": expire(older_than)})


def routes() -> list[tuple[str, str, Handler]]:
    return [
        ("GET", "/v1/events", _list_events),
        ("GET", "/v1/events/{id}", _retrieve_event),
        ("POST", SANDBOX_PREFIX + "events/expire", _expire_events),
    ]
