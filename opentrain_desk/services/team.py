"""Who is working: the signed-in member and what their role lets them do.

In a team workspace (PostgreSQL) every member signs in as their own database login, which
is the unit of work's ``actor``; the ``members`` table gives their name and role, and the
database itself refuses what the role may not do. A solo workspace (SQLite) has exactly
one member, its Owner, created on first use with the name given in Settings → Profile.

Services call :func:`require` first thing in every write, so the refusal is the same
"Your role (Accountant) cannot …" whatever the front-end.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..domain.errors import DomainError
from ..domain.roles import Capability, Role, can
from ..domain.roles import require as require_role
from .unit_of_work import UnitOfWork
from .person_keys import person_name_key


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    login: str
    name: str
    role: Role
    active: bool
    version: int = 1

    def can(self, capability: Capability) -> bool:
        return self.active and can(self.role, capability)


class NotAMember(DomainError):
    def __init__(self, login: str) -> None:
        super().__init__(f"{login} is not a member of this workspace (or was deactivated). "
                         "Ask an Owner to add you in Settings → Team.")


def member_from_row(row) -> Member:
    return Member(row.id, row.login, row.name, Role(row.role), row.active, row.version)


def is_team(uow: UnitOfWork) -> bool:
    """A shared workspace on a server (members sign in), not a solo SQLite file."""
    return uow.session.get_bind().dialect.name != "sqlite"


def current_member(uow: UnitOfWork) -> Member:
    """The member behind this unit of work (inside ``with uow``). Solo (or a server
    database with no members yet): the Owner, created when first asked for."""
    row = uow.members.by_login(uow.actor)
    if row is None and (not is_team(uow) or not uow.members.all()):
        # solo, or a shared database from before teams (no members yet: `team init` makes
        # them): whoever works in it is its Owner, as before
        name = uow.settings.get(person_name_key(uow.actor)) or uow.actor
        uow.members.add(uow.actor, name, Role.OWNER.value, uow.now)
        row = uow.members.by_login(uow.actor)
    if row is None or not row.active:
        raise NotAMember(uow.actor)
    return member_from_row(row)


def require(uow: UnitOfWork, capability: Capability) -> Member:
    """The current member, if their role allows ``capability``; else ``RoleRefused``."""
    member = current_member(uow)
    require_role(member.role, capability)
    return member


def whoami(factory) -> Member:
    """For the UI: who is signed in, to hide what their role cannot do."""
    with factory() as uow:
        member = current_member(uow)
        uow.commit()  # the solo Owner row, when it was just created
    return member


def require_in(factory, capability: Capability) -> Member:
    """:func:`require` in a unit of work of its own: for use cases that call Stripe before
    they write, so a refused role is told before anything is sent."""
    with factory() as uow:
        member = require(uow, capability)
        uow.commit()  # the solo Owner row, when it was just created
    return member
