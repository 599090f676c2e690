"""Stripe list semantics for the sandbox emulator: newest first, cursors
(``starting_after`` / ``ending_before``), ``limit`` and ``has_more``, plus
reading localstripe's store by resource class.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from localstripe.resources import StripeObject, store

from .base import _as_int, _missing, stripe_error

DEFAULT_LIST_LIMIT = 10
MAX_LIST_LIMIT = 100

_T = TypeVar("_T")


# --------------------------------------------------------------------------
# Stripe list semantics (newest first, cursors, has_more)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    limit: int
    starting_after: str | None
    ending_before: str | None
    expand: list[str]


_PAGE_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand"})


def _pop_page(query: dict[str, Any]) -> _Page:
    """Remove and validate the pagination/expand parameters of a list call."""
    limit = _as_int(query.pop("limit", DEFAULT_LIST_LIMIT), "limit")
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise stripe_error(
            400, "parameter_invalid_integer", "limit must be between 1 and 100.", param="limit"
        )
    expand = query.pop("expand", None) or []
    if not isinstance(expand, list):
        expand = [expand]
    page = _Page(
        limit=limit,
        starting_after=query.pop("starting_after", None) or None,
        ending_before=query.pop("ending_before", None) or None,
        expand=[str(path) for path in expand],
    )
    if page.starting_after and page.ending_before:
        raise stripe_error(
            400, "parameter_invalid", "starting_after and ending_before are mutually exclusive."
        )
    return page


def _cursor_index(items: list[StripeObject], cursor: str, param: str) -> int:
    for index, item in enumerate(items):
        if item.id == cursor:
            return index
    raise _missing("object", cursor, param=param)


def _list_response(
    items: list[StripeObject],
    keep: Callable[[StripeObject], bool],
    url: str,
    page: _Page,
) -> dict[str, Any]:
    """Render ``items`` (newest first, unfiltered) as a Stripe list object.

    Cursors are located in the unfiltered sequence, so ``starting_after`` may
    name any object of the type, as with Stripe.
    """
    if page.starting_after:
        start = _cursor_index(items, page.starting_after, "starting_after") + 1
        candidates = [item for item in items[start:] if keep(item)]
        window, has_more = candidates[: page.limit], len(candidates) > page.limit
    elif page.ending_before:
        end = _cursor_index(items, page.ending_before, "ending_before")
        candidates = [item for item in items[:end] if keep(item)]
        window, has_more = candidates[-page.limit :], len(candidates) > page.limit
    else:
        candidates = [item for item in items if keep(item)]
        window, has_more = candidates[: page.limit], len(candidates) > page.limit
    item_expand = _item_expand_paths(page.expand)
    return {
        "object": "list",
        "url": url,
        "has_more": has_more,
        "data": [item._export(expand=item_expand) for item in window],
    }


def _item_expand_paths(paths: list[str]) -> list[str]:
    for path in paths:
        if not path.startswith("data."):
            raise stripe_error(400, "parameter_invalid", f"Cannot expand {path} on a list",
                               param="expand")
    return [path[len("data.") :] for path in paths]


def _stored(cls: type[_T]) -> list[_T]:
    """All stored objects of a localstripe resource class, oldest first."""
    prefix = f"{cls.object}:"  # type: ignore[attr-defined]
    return [value for key, value in store.items() if key.startswith(prefix)]


def _newest_first(cls: type[_T]) -> list[_T]:
    return list(reversed(_stored(cls)))
