"""Who is who in a workspace: the name a person gives in Settings, shown for their login
(e.g. "Approved by")."""
from __future__ import annotations

from ..domain.jobs import clean_required
from .unit_of_work import UnitOfWork
from .workspace_settings import person_name_key as name_key


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
