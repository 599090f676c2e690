"""What every module of the sandbox emulator builds on.

* Process-wide localstripe adjustments, made on import (localstripe keeps
  module-global state), so before any other emulator module patches it:

  * localstripe's pickling to the shared file ``/tmp/localstripe.pickle`` (and
    reloading it) is disabled;
  * ``PaymentIntent.latest_charge`` is exported as a charge *id* like real
    Stripe (localstripe inlines the whole charge); ``expand=["latest_charge"]``
    still returns the object;
  * Stripe's ``pm_card_authenticationRequired`` test payment method.

* Stripe-shaped errors (:func:`stripe_error`) and request parameter parsing.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from localstripe.errors import UserError
from localstripe.resources import PaymentIntent, PaymentMethod, Store, StripeObject

# --------------------------------------------------------------------------
# Process-wide localstripe adjustments
# --------------------------------------------------------------------------


def _skip_disk(_store: Store) -> None:
    """Replacement for Store.dump_to_disk / try_load_from_disk: do nothing."""


def _disable_disk_persistence() -> None:
    """Stop localstripe from writing or reading /tmp/localstripe.pickle.

    ``Store.__setitem__``/``__delitem__`` and localstripe's own middleware call
    ``dump_to_disk`` on every write; patching the class covers all of them.
    """
    Store.dump_to_disk = _skip_disk  # type: ignore[method-assign]
    Store.try_load_from_disk = _skip_disk  # type: ignore[method-assign]


def _add_test_payment_methods() -> None:
    """Stripe's ``pm_card_authenticationRequired`` (3-D Secure on every payment),
    which localstripe does not know, backed by its always-authenticate test card."""
    original = PaymentMethod._try_get_canonical_test_article.__func__

    def lookup(cls: type[PaymentMethod], id: str) -> PaymentMethod | None:  # noqa: A002
        if id == "pm_card_authenticationRequired":
            return PaymentMethod(type="card", card=dict(
                number="4000002760003184", exp_month="12", exp_year="2030", cvc="123"))
        return original(cls, id)

    PaymentMethod._try_get_canonical_test_article = classmethod(lookup)


def _is_expanded(field: str, expand: list[str] | None) -> bool:
    return any(path == field or path.startswith(field + ".") for path in expand or [])


def _export_latest_charge_as_id() -> None:
    """Make ``PaymentIntent.latest_charge`` an id unless expanded (as Stripe)."""
    original = PaymentIntent._export
    if getattr(original, "_sandbox_patched", False):
        return

    def _export(self: PaymentIntent, expand: list[str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = original(self, expand=expand)
        if self.latest_charge is not None and not _is_expanded("latest_charge", expand):
            data["latest_charge"] = self.latest_charge.id
        return data

    _export._sandbox_patched = True  # type: ignore[attr-defined]
    PaymentIntent._export = _export  # type: ignore[method-assign]


_disable_disk_persistence()
_export_latest_charge_as_id()
_add_test_payment_methods()


# --------------------------------------------------------------------------
# Stripe-shaped errors and parameter parsing
# --------------------------------------------------------------------------


def stripe_error(
    status: int,
    code: str | None,
    message: str,
    *,
    param: str | None = None,
    error_type: str = "invalid_request_error",
) -> UserError:
    """Build an error that localstripe's error middleware renders as
    ``{"error": {"type", "code", "message"[, "param"]}}`` with ``status``."""
    contents: dict[str, Any] = {"code": code}
    if param is not None:
        contents["param"] = param
    error = UserError(status, message, contents)
    error.body["error"]["type"] = error_type
    return error


def _missing(kind: str, object_id: str, param: str | None = None) -> UserError:
    status = 400 if param else 404
    return stripe_error(status, "resource_missing", f"No such {kind}: '{object_id}'", param=param)


def _reject_unknown(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise stripe_error(
            400, "parameter_unknown", f"Received unknown parameter: {unknown[0]}", param=unknown[0]
        )


def _require(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None or value == "":
        raise stripe_error(400, "parameter_missing", f"Missing required param: {name}.", param=name)
    return value


def _as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise stripe_error(
            400, "parameter_invalid_integer", f"Invalid integer: {value}", param=name
        ) from None


def _positive_int(value: Any, name: str) -> int:
    number = _as_int(value, name)
    if number <= 0:
        raise stripe_error(
            400, "parameter_invalid_integer", "This value must be greater than or equal to 1.",
            param=name
        )
    return number


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise stripe_error(400, "parameter_invalid_string", f"Invalid string: {name}", param=name)
    return value


def _currency(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise stripe_error(400, "parameter_invalid", f"Invalid currency: {value}", param="currency")
    return value.lower()


def _merge_metadata(current: Mapping[str, str], update: Any) -> dict[str, str]:
    """Stripe metadata semantics: merge keys, ``""`` deletes a key, and
    ``metadata=""`` clears everything."""
    if update is None:
        return dict(current)
    if update == "":
        return {}
    if not isinstance(update, Mapping):
        raise stripe_error(400, "parameter_invalid", "Invalid metadata: must be an object",
                           param="metadata")
    merged = dict(current)
    for key, value in update.items():
        if value in ("", None):
            merged.pop(key, None)
        else:
            merged[str(key)] = str(value)
    return merged


def _money(amount: int, currency: str) -> str:
    """``1234, "usd"`` -> ``12.34 USD`` (amounts in error messages)."""
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"


_CREATED_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _created_predicate(value: Any) -> Callable[[StripeObject], bool]:
    """``created=TS`` or ``created[gt|gte|lt|lte]=TS`` as a filter."""
    if value is None:
        return lambda _obj: True
    if not isinstance(value, Mapping):
        exact = _as_int(value, "created")
        return lambda obj: obj.created == exact
    for key in value:
        if key not in _CREATED_OPERATORS:
            raise stripe_error(400, "parameter_unknown",
                               f"Received unknown parameter: created[{key}]",
                               param=f"created[{key}]")
    bounds = [(_CREATED_OPERATORS[k], _as_int(v, f"created[{k}]")) for k, v in value.items()]
    return lambda obj: all(compare(obj.created, bound) for compare, bound in bounds)


def _assert_unique_id_prefixes() -> None:
    """localstripe's ``expand`` finds a class by id prefix: no prefix may be a
    prefix of another one."""
    prefixes = [c._id_prefix for c in StripeObject.__subclasses__() if hasattr(c, "_id_prefix")]
    for a in prefixes:
        for b in prefixes:
            if a is not b and b.startswith(a):
                raise RuntimeError(f"localstripe id prefix clash: {a!r} / {b!r}")
