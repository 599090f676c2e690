"""The sandbox emulator's aiohttp application: authentication (any test
secret key; revoked and live keys get Stripe's 401), the idempotency and
fault layer (:func:`.faults.api_middleware`), the route table (the resource
modules' routes and the extension modules', before localstripe's) and the
sandbox-only administration routes (reset, faults, idempotency key expiry).

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable

from aiohttp import web
from localstripe import webhooks as ls_webhooks
from localstripe.resources import store

from . import (
    bank_debits,
    connect,
    disputes,
    events,
    payments,
    refund_failures,
    refunds,
    subscriptions,
    transfer_reversals,
    transfers,
)
from .base import _as_int, _assert_unique_id_prefixes, _reject_unknown
from .faults import Fault, FaultInjector, api_middleware
from .idempotency import IDEMPOTENCY, IdempotencyStore
from .routing import Handler, _body, _json
from .wire import API_KEY_STATE, CONFIG_PREFIX, SANDBOX_PREFIX

with warnings.catch_warnings():
    # localstripe registers plain (non-async) handlers on its module-level app.
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    from localstripe import server as ls_server


def _fault_routes(faults: FaultInjector) -> list[tuple[str, str, Handler]]:
    async def add(request: web.Request) -> web.Response:
        faults.add(Fault.from_params(await _body(request)))
        return _json({"object": "list", "data": faults.pending()})

    async def show(_request: web.Request) -> web.Response:
        return _json({"object": "list", "data": faults.pending()})

    async def clear(_request: web.Request) -> web.Response:
        faults.clear()
        return _json({"object": "list", "data": []})

    path = SANDBOX_PREFIX + "faults"
    return [("POST", path, add), ("GET", path, show), ("DELETE", path, clear)]


def _clear_all_state(faults: FaultInjector) -> None:
    """localstripe store (includes accounts and transfers), idempotency records,
    webhook registrations (kept outside the store), fault rules and revocations."""
    store.clear()
    IDEMPOTENCY.clear()
    ls_webhooks._webhooks.clear()
    faults.clear()
    REVOKED_KEYS.clear()


async def _expire_idempotency_keys(request: web.Request) -> web.Response:
    """``POST /_sandbox/idempotency_keys/expire`` [``older_than`` seconds]: forget
    completed keys, as Stripe does after 24 h (for a separate-process emulator)."""
    data = await _body(request)
    _reject_unknown(data, frozenset({"older_than"}))
    older_than = float(_as_int(data.get("older_than", 0), "older_than"))
    return _json({"expired": IDEMPOTENCY.expire(older_than)})


async def _flush_data(_request: web.Request) -> web.Response:
    """``DELETE /_config/data`` (localstripe's reset) also forgets idempotency keys."""
    store.clear()
    IDEMPOTENCY.clear()
    return web.Response()

def _extension_routes(faults: FaultInjector) -> list[tuple[str, str, Handler]]:
    async def reset(_request: web.Request) -> web.Response:
        _clear_all_state(faults)
        return web.Response()

    return [
        *connect.routes(),
        *transfers.routes(),
        *payments.routes(),
        *refunds.routes(),
        *subscriptions.routes(),
        ("DELETE", CONFIG_PREFIX + "data", _flush_data),
        ("POST", SANDBOX_PREFIX + "reset", reset),
        ("POST", SANDBOX_PREFIX + "idempotency_keys/expire", _expire_idempotency_keys),
        *_fault_routes(faults),
        *events.routes(),
        *disputes.routes(),
        *transfer_reversals.routes(),
        *bank_debits.routes(),
        *refund_failures.routes(),
    ]


#: Keys the sandbox treats as revoked (``SandboxStripe.revoke_key``); cleared by reset().
REVOKED_KEYS: set[str] = set()


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip()


def _invalid_key(key: str) -> web.Response:
    shown = f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"
    return _json({"error": {"type": "invalid_request_error", "code": "api_key_invalid",
                            "message": f"Invalid API Key provided: {shown}"}}, status=401)


@web.middleware
async def _auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """localstripe's auth (any ``sk_...`` key), except for sandbox-only routes,
    which a browser opens without a key. Revoked keys and live-mode keys (the
    sandbox is a test-mode account) get Stripe's 401."""
    if request.path.startswith(SANDBOX_PREFIX):
        return await handler(request)
    key = _bearer(request)
    request[API_KEY_STATE] = key  # scope of idempotency keys (kept by clone below)
    if key in REVOKED_KEYS or key.startswith(("sk_live_", "rk_live_")):
        return _invalid_key(key)
    if key.startswith("rk_test_"):  # restricted keys: localstripe only knows sk_
        request = request.clone(headers={**request.headers,
                                         "Authorization": "Bearer sk_test_restricted"})
    return await ls_server.auth_middleware(request, handler)


def build_app(faults: FaultInjector, idempotency: IdempotencyStore | None = None,
              persist: Callable[[], None] | None = None) -> web.Application:
    """A fresh aiohttp app: our routes first, then localstripe's (minus the
    ones we replace). localstripe's global ``server.app`` is never started, so
    it stays unfrozen and a new app can be built for every start.

    Authentication runs before idempotency and faults (401s are never saved);
    ``persist`` is called after each write, before its answer is sent."""
    api = api_middleware(faults, IDEMPOTENCY if idempotency is None else idempotency, persist)
    app = web.Application(middlewares=[ls_server.error_middleware, _auth_middleware, api,
                                       events.request_context_middleware])
    app.on_response_prepare.append(ls_server.add_cors_headers)
    ours = _extension_routes(faults)
    for method, path, handler in ours:
        app.router.add_route(method, path, handler)
    replaced = {(method, path) for method, path, _ in ours}
    for route in ls_server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else None
        if path is not None and (route.method, path) not in replaced:
            app.router.add_route(route.method, path, _async_handler(route.handler))
    return app


def _async_handler(handler: Handler) -> Handler:
    """aiohttp deprecates plain-function handlers; localstripe uses some."""
    if asyncio.iscoroutinefunction(handler):
        return handler

    async def call(request: web.Request) -> web.StreamResponse:
        return handler(request)

    return call


_assert_unique_id_prefixes()
