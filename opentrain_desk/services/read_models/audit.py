"""Rows of the audit log viewer (Reports → Audit log) and the team list."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """``actor``: a member's login ("" = everyone); ``entity`` ("" = all) and its id."""

    actor: str = ""
    entity: str = ""
    entity_id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str          # the login that did it
    member_name: str    # the member's name ("" when the login is no member: shown as login)
    entity: str
    entity_id: int | None
    action: str
    before: str | None  # JSON text as recorded
    after: str | None

    @property
    def who(self) -> str:
        return self.member_name or self.actor

    @property
    def what(self) -> str:
        target = f"{self.entity} #{self.entity_id}" if self.entity_id is not None else self.entity
        return f"{target}: {self.action}"

    def change(self) -> str:
        """``before → after``, one ``field: old → new`` per changed key, readable."""
        before, after = _load(self.before), _load(self.after)
        keys = list(dict.fromkeys([*before, *after]))
        parts = []
        for key in keys:
            old, new = before.get(key, _MISSING), after.get(key, _MISSING)
            if old == new:
                continue
            if old is _MISSING:
                parts.append(f"{key}: {_plain(new)}")
            elif new is _MISSING:
                parts.append(f"{key}: {_plain(old)} → (removed)")
            else:
                parts.append(f"{key}: {_plain(old)} → {_plain(new)}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class MemberRow:
    login: str
    name: str
    role: str
    active: bool


_MISSING = object()


def _load(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


def _plain(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
