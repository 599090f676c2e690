"""What the sandbox emulator's HTTP layers share: the URL prefixes of the
non-API routes, the request slot holding the caller's API key, Stripe-shaped
error answers and request ids.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

import warnings

from aiohttp import web
from localstripe.resources import random_id

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    from localstripe import server as ls_server

SANDBOX_PREFIX = "/_sandbox/"
CONFIG_PREFIX = "/_config/"
#: request state slot where the auth middleware leaves the caller's API key
API_KEY_STATE = web.RequestKey("sandbox_api_key", str)


def _stripe_error_response(status: int, error_type: str, code: str | None,
                           message: str) -> web.Response:
    body = {"error": {"type": error_type, "code": code, "message": message}}
    return ls_server.json_response(body, status=status)


def _new_request_id() -> str:
    return "req_" + random_id(14)
