"""HTTP helpers shared by the sandbox emulator's routes: Stripe-style
request bodies and queries (form-encoded or JSON, unflattened), JSON answers,
``expand``, and the generic create / retrieve / update / list routes of a
resource.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aiohttp import web
from localstripe.resources import StripeObject

from .lists import _list_response, _newest_first, _pop_page

with warnings.catch_warnings():
    # localstripe registers plain (non-async) handlers on its module-level app.
    warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
    from localstripe import server as ls_server

Handler = Callable[[web.Request], Any]


# --------------------------------------------------------------------------
# Requests, answers and generic resource routes
# --------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return ls_server.json_response(data, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    """Form-encoded (as the SDK sends) or JSON body, unflattened."""
    return dict(await ls_server.get_post_data(request) or {})


def _query(request: web.Request) -> dict[str, Any]:
    return dict(ls_server.unflatten_data(request.query) or {})


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _pop_expand(data: dict[str, Any]) -> list[str] | None:
    expand = data.pop("expand", None)
    return expand if isinstance(expand, list) or expand is None else [expand]


def _resource_routes(cls: type[StripeObject], collection: str,
                     list_predicate: Callable[[dict[str, Any]], Callable[[StripeObject], bool]]
                     ) -> list[tuple[str, str, Handler]]:
    """create / retrieve / update / list routes for an extension resource."""

    async def create(request: web.Request) -> web.Response:
        data = await _body(request)
        expand = _pop_expand(data)
        return _json(cls._api_create(**data)._export(expand=expand))

    async def retrieve(request: web.Request) -> web.Response:
        query = _query(request)
        return _json(cls._api_retrieve(request.match_info["id"])._export(expand=_pop_expand(query)))

    async def update(request: web.Request) -> web.Response:
        data = await _body(request)
        expand = _pop_expand(data)
        return _json(cls._api_update(request.match_info["id"], **data)._export(expand=expand))

    async def list_all(request: web.Request) -> web.Response:
        query = _query(request)
        page = _pop_page(query)
        keep = list_predicate(query)
        return _json(_list_response(_newest_first(cls), keep, collection, page))

    return [
        ("POST", collection, create),
        ("GET", collection, list_all),
        ("GET", collection + "/{id}", retrieve),
        ("POST", collection + "/{id}", update),
    ]


def _list_route(cls: type[StripeObject], url: str,
                predicate: Callable[[dict[str, Any]], Callable[[StripeObject], bool]]) -> Handler:
    """A Stripe list (newest first, cursors) replacing localstripe's."""
    async def list_all(request: web.Request) -> web.Response:
        query = _query(request)
        page = _pop_page(query)
        return _json(_list_response(_newest_first(cls), predicate(query), url, page))

    return list_all
