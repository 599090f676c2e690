"""Who is who in a workspace: the name a person gives in Settings, shown for their login
(e.g. "Approved by")."""
from __future__ import annotations

from ..domain.jobs import clean_required
from .unit_of_work import UnitOfWork

NAME_KEY_PREFIX = "person_name:"


def name_key(login: str) -> str:
    return f"{NAME_KEY_PREFIX}{login}"[:80]


def my_name(uow: UnitOfWork) -> str:
    with uow:
        return uow.settings.get(name_key(uow.actor)) or ""


def set_my_name(uow: UnitOfWork, name: str) -> str:
    name = clean_required(name, "your name", limit=120)
    with uow:
        before = uow.settings.get(name_key(uow.actor))
        uow.settings.set(name_key(uow.actor), name)
        uow.audit("person", None, "name set", before={"name": before}, after={"name": name})
        uow.commit()
    return name
