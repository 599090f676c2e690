"""Stripe Connect for the sandbox emulator: ``/v1/accounts`` (Express
accounts, not ready until onboarded), ``/v1/account_links`` and the
sandbox-only onboarding routes (``/_sandbox/accounts/{id}/complete_onboarding``
and the browser page ``/_sandbox/onboarding/{id}``).

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from localstripe.resources import Event, StripeObject, schedule_webhook, store

from .base import (
    _created_predicate,
    _currency,
    _merge_metadata,
    _missing,
    _optional_str,
    _reject_unknown,
    _require,
    stripe_error,
)
from .routing import Handler, _base_url, _body, _json, _resource_routes
from .wire import SANDBOX_PREFIX

ACCOUNT_LINK_TTL_SECONDS = 300


#: What a freshly created Express account still has to provide.
_ONBOARDING_REQUIREMENTS = (
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.address.postal_code",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.phone",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)


def _requirements(due: tuple[str, ...], disabled_reason: str | None) -> dict[str, Any]:
    return {
        "currently_due": list(due),
        "eventually_due": list(due),
        "past_due": [],
        "pending_verification": [],
        "errors": [],
        "current_deadline": None,
        "disabled_reason": disabled_reason,
    }


class Account(StripeObject):  # type: ignore[misc]
    """A Connect account. New accounts cannot receive transfers until
    ``POST /_sandbox/accounts/{id}/complete_onboarding``."""

    object = "account"
    _id_prefix = "acct_"
    _create_params = frozenset(
        {"type", "country", "email", "metadata", "capabilities", "business_type",
         "business_profile", "default_currency", "controller", "expand"}
    )
    _update_params = frozenset({"email", "metadata", "business_profile", "expand"})

    def __init__(self, *, account_type: str, email: str | None, country: str,
                 default_currency: str, metadata: dict[str, str],
                 requested_capabilities: list[str], business_type: str | None,
                 business_profile: dict[str, Any]) -> None:
        super().__init__()
        self.type = account_type
        self.email = email
        self.country = country
        self.default_currency = default_currency
        self.metadata = metadata
        self.business_type = business_type
        self.business_profile = business_profile
        self.charges_enabled = False
        self.payouts_enabled = False
        self.details_submitted = False
        self.capabilities = {name: "inactive" for name in ["transfers", *requested_capabilities]}
        self.requirements = _requirements(_ONBOARDING_REQUIREMENTS, "requirements.past_due")

    @classmethod
    def _api_create(cls, **data: Any) -> Account:
        _reject_unknown(data, cls._create_params)
        account_type = data.get("type") or "express"
        if account_type not in ("express", "standard", "custom"):
            raise stripe_error(400, "parameter_invalid", f"Invalid type: {account_type}",
                               param="type")
        capabilities = data.get("capabilities") or {}
        business_profile = data.get("business_profile") or {}
        if not isinstance(capabilities, Mapping) or not isinstance(business_profile, Mapping):
            raise stripe_error(400, "parameter_invalid", "Invalid object", param="capabilities")
        return cls(
            account_type=account_type,
            email=_optional_str(data, "email"),
            country=(_optional_str(data, "country") or "US").upper(),
            default_currency=_currency(data.get("default_currency") or "usd"),
            metadata=_merge_metadata({}, data.get("metadata")),
            requested_capabilities=[str(name) for name in capabilities],
            business_type=_optional_str(data, "business_type"),
            business_profile=dict(business_profile),
        )

    @classmethod
    def _api_retrieve(cls, id: str) -> Account:  # noqa: A002 - localstripe's signature
        account = store.get(f"{cls.object}:{id}")
        if account is None:
            raise _missing("account", id)
        return account

    @classmethod
    def _api_update(cls, id: str, **data: Any) -> Account:  # noqa: A002
        _reject_unknown(data, cls._update_params)
        account = cls._api_retrieve(id)
        account.metadata = _merge_metadata(account.metadata, data.get("metadata"))
        if "email" in data:
            account.email = _optional_str(data, "email")
        if isinstance(data.get("business_profile"), Mapping):
            account.business_profile = {**account.business_profile, **data["business_profile"]}
        return account

    @classmethod
    def _api_complete_onboarding(cls, id: str) -> Account:  # noqa: A002
        """Sandbox-only: make the account able to receive transfers.

        Must run on the server loop (it emits an ``account.updated`` event)."""
        account = cls._api_retrieve(id)
        account.charges_enabled = True
        account.payouts_enabled = True
        account.details_submitted = True
        account.capabilities = {name: "active" for name in account.capabilities}
        account.requirements = _requirements((), None)
        schedule_webhook(Event("account.updated", account))
        return account

    @property
    def _can_receive_transfers(self) -> bool:
        return self.capabilities.get("transfers") == "active"


def _account_link(data: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    _reject_unknown(data, frozenset({"account", "refresh_url", "return_url", "type", "collect",
                                     "collection_options", "expand"}))
    account = Account._api_retrieve(str(_require(data, "account")))
    link_type = _require(data, "type")
    if link_type not in ("account_onboarding", "account_update"):
        raise stripe_error(400, "parameter_invalid", f"Invalid type: {link_type}", param="type")
    _require(data, "return_url")
    _require(data, "refresh_url")
    created = int(time.time())
    return {
        "object": "account_link",
        "created": created,
        "expires_at": created + ACCOUNT_LINK_TTL_SECONDS,
        "url": f"{base_url}{SANDBOX_PREFIX}onboarding/{account.id}",
    }


def _account_list_predicate(query: Mapping[str, Any]) -> Callable[[StripeObject], bool]:
    _reject_unknown(query, frozenset({"created"}))
    return _created_predicate(query.get("created"))


async def _create_account_link(request: web.Request) -> web.Response:
    return _json(_account_link(await _body(request), _base_url(request)))


async def _complete_onboarding(request: web.Request) -> web.Response:
    return _json(Account._api_complete_onboarding(request.match_info["id"])._export())


_PAGE_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Stripe sandbox onboarding</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Stripe sandbox onboarding</h1>
<p>This is the <strong>OpenTrain Desk sandbox</strong> onboarding page for account
<code>{account}</code>. No real data is collected and no money moves.</p>
{body}
</body></html>
"""


def _onboarding_page(account_id: str, body: str, status: int = 200) -> web.Response:
    text = _PAGE_TEMPLATE.format(account=html.escape(account_id), body=body)
    return web.Response(text=text, content_type="text/html", status=status)


async def _show_onboarding(request: web.Request) -> web.Response:
    account_id = request.match_info["id"]
    if store.get(f"{Account.object}:{account_id}") is None:
        return _onboarding_page(account_id, "<p>Unknown account.</p>", status=404)
    form = ('<form method="post"><button type="submit">Complete onboarding</button></form>')
    return _onboarding_page(account_id, form)


async def _submit_onboarding(request: web.Request) -> web.Response:
    account_id = request.match_info["id"]
    if store.get(f"{Account.object}:{account_id}") is None:
        return _onboarding_page(account_id, "<p>Unknown account.</p>", status=404)
    Account._api_complete_onboarding(account_id)
    return _onboarding_page(account_id, "<p>Onboarding complete. You can close this window.</p>")


def routes() -> list[tuple[str, str, Handler]]:
    return [
        *_resource_routes(Account, "/v1/accounts", _account_list_predicate),
        ("POST", "/v1/account_links", _create_account_link),
        ("POST", SANDBOX_PREFIX + "accounts/{id}/complete_onboarding", _complete_onboarding),
        ("GET", SANDBOX_PREFIX + "onboarding/{id}", _show_onboarding),
        ("POST", SANDBOX_PREFIX + "onboarding/{id}", _submit_onboarding),
    ]
