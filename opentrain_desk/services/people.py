"""Who is who in a workspace: the member's name, shown for their login (e.g. "Approved by",
the audit log). Solo: the Owner names themselves in Settings → Profile."""
from __future__ import annotations

from ..domain.errors import ConcurrentChange
from ..domain.jobs import clean_required
from ..domain.roles import Capability
from .team import current_member, require
from .unit_of_work import UnitOfWork
from .workspace_settings import person_name_key as name_key


def my_name(uow: UnitOfWork) -> str:
    with uow:
        member = current_member(uow)
        uow.commit()  # the solo Owner row, when it was just created
    return "" if member.name == member.login else member.name


def set_my_name(uow: UnitOfWork, name: str) -> str:
    """The signed-in member's name (``members.name``). Names are managed with the team:
    the solo Owner sets theirs here; in a team only an Owner writes ``members``."""
    name = clean_required(name, "your name", limit=120)
    with uow:
        member = require(uow, Capability.MANAGE_TEAM)
        if not uow.members.update(member.id, member.version, uow.now, name=name):
            raise ConcurrentChange()
        uow.settings.set(name_key(uow.actor), name)  # what older versions show
        uow.audit("person", None, "name set", before={"name": member.name},
                  after={"name": name})
        uow.commit()
    return name
