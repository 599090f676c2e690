"""stripe-python exceptions mapped to one ``ErrorKind`` and a message a person can act on.

Messages pass through ``redact``: Stripe's own messages never echo full keys, and any
key-looking text is replaced before a message goes on.
"""
from __future__ import annotations

import logging

import stripe

from ..domain.operations import ErrorKind
from ..services.ports import GatewayError
from .keys import redact

log = logging.getLogger("opentrain_desk.payments.stripe_gateway")  # one logger for the adapter

class translated:
    """Context manager: stripe-python exceptions -> GatewayError with an ErrorKind."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, _tb) -> bool:
        if exc is None or not isinstance(exc, stripe.StripeError):
            return False
        raise to_gateway_error(exc) from None


def to_gateway_error(exc: stripe.StripeError) -> GatewayError:
    body = exc.json_body or {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = exc.code or error.get("code")
    message = redact(error.get("message") or exc.user_message or str(exc) or
                     type(exc).__name__)
    object_id = (error.get("payment_intent") or {}).get("id", "") if isinstance(
        error.get("payment_intent"), dict) else ""
    kind = _kind(exc, code)
    log.warning("stripe call failed: %s (%s, http %s)", kind.value, code, exc.http_status)
    return GatewayError(kind, _friendly(kind, message), code, object_id)


def _kind(exc: stripe.StripeError, code: str | None) -> ErrorKind:
    if isinstance(exc, stripe.APIConnectionError):
        return _connection_kind(exc)
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return ErrorKind.KEY_REJECTED
    if isinstance(exc, stripe.RateLimitError) or exc.http_status == 429:
        return ErrorKind.RATE_LIMITED
    if code == "lock_timeout" or (exc.http_status or 0) >= 500 or exc.http_status == 409:
        return ErrorKind.SERVER
    if code == "authentication_required":
        return ErrorKind.AUTH_REQUIRED
    if code in ("insufficient_capabilities_for_transfer", "transfers_not_allowed",
                "account_invalid"):
        return ErrorKind.NOT_READY
    if code == "balance_insufficient":
        return ErrorKind.BALANCE
    if isinstance(exc, stripe.CardError) or exc.http_status == 402:
        return ErrorKind.DECLINED
    return ErrorKind.INVALID


def _connection_kind(exc: stripe.APIConnectionError) -> ErrorKind:
    """NETWORK only when the request certainly never left (no connection could be made);
    a timeout or a connection dropped after sending may have reached Stripe."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
    cause = exc.__cause__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return ErrorKind.NETWORK
    if isinstance(cause, requests.exceptions.Timeout):
        return ErrorKind.TIMEOUT
    if isinstance(cause, requests.exceptions.ConnectionError):
        reason = getattr(cause.args[0], "reason", None) if cause.args else None
        if isinstance(reason, (NewConnectionError, NameResolutionError, ConnectTimeoutError)):
            return ErrorKind.NETWORK
    return ErrorKind.CONNECTION_LOST


def _friendly(kind: ErrorKind, message: str) -> str:
    if kind is ErrorKind.NETWORK:
        return "Stripe could not be reached (offline?). The operation stays queued."
    if kind is ErrorKind.TIMEOUT:
        return "Stripe did not answer in time. The operation will be checked and retried."
    if kind is ErrorKind.CONNECTION_LOST:
        return ("The connection to Stripe broke before it answered. Stripe may have acted "
                "on the request: it is checked with Stripe before anything else happens.")
    if kind is ErrorKind.KEY_REJECTED:
        return ("Stripe rejected the API key (invalid, revoked, or missing a permission). "
                "Update it in Settings → Stripe.")
    return message
