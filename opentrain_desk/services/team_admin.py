"""Settings → Team: list, invite, change role, deactivate/reactivate, reset a password.

Each use case requires MANAGE_TEAM (Owner), keeps at least one active Owner, writes the
``members`` row and an audit entry in one unit of work, and asks the :class:`TeamAdmin`
port to do the database side (the member's login) inside that same action, so a refused
login change leaves no member row behind. An invitation returns the new login and a
one-time password, shown once and never stored by the app.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from ..domain.errors import ConcurrentChange, DomainError
from ..domain.jobs import clean_required
from ..domain.roles import Capability, Role
from .ports import TeamAdmin
from .team import Member, current_member, member_from_row, require
from .unit_of_work import UnitOfWork, UnitOfWorkFactory

LOGIN_LIMIT = 63  # PostgreSQL's identifier length


class LastOwner(DomainError):
    def __init__(self) -> None:
        super().__init__("At least one Owner must stay active: make someone else an Owner "
                         "first.")


@dataclass(frozen=True)
class Invitation:
    member: Member
    login: str
    password: str  # one-time: show it once, never store it


def list_members(factory: UnitOfWorkFactory) -> list[Member]:
    with factory() as uow:
        current_member(uow)  # solo: creates the Owner on first use
        rows = uow.members.all()
        uow.commit()
    return [member_from_row(row) for row in rows]


def login_for(name: str, taken: set[str]) -> str:
    """``Ana López`` → ``ana_lopez`` (``ana_lopez2`` when taken): a database login."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_") or "member"
    if base[0].isdigit():
        base = f"m_{base}"
    base = base[:LOGIN_LIMIT - 3]
    login, n = base, 1
    while login in taken:
        n += 1
        login = f"{base}{n}"
    return login


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def invite(factory: UnitOfWorkFactory, admin: TeamAdmin, name: str, role: Role) -> Invitation:
    name = clean_required(name, "member's name", limit=200)
    password = one_time_password()
    with factory() as uow:
        require(uow, Capability.MANAGE_TEAM)
        login = login_for(name, {row.login for row in uow.members.all()})
        member_id = uow.members.add(login, name, role.value, uow.now)
        uow.audit("member", member_id, "invited",
                  after={"login": login, "name": name, "role": role.value})
        admin.add_member(login, role.value, password)
        uow.commit()
    return Invitation(Member(member_id, login, name, role, True), login, password)


def change_role(factory: UnitOfWorkFactory, admin: TeamAdmin, member_id: int,
                role: Role) -> Member:
    with factory() as uow:
        member = _managed(uow, member_id)
        if member.role is role:
            return member
        if member.role is Role.OWNER and member.active:
            _keep_an_owner(uow)
        _update(uow, member, role=role.value)
        uow.audit("member", member.id, "role changed", before={"role": member.role.value},
                  after={"role": role.value})
        admin.change_role(member.login, role.value)
        uow.commit()
    return Member(member.id, member.login, member.name, role, member.active,
                  member.version + 1)


def set_active(factory: UnitOfWorkFactory, admin: TeamAdmin, member_id: int,
               active: bool) -> Member:
    with factory() as uow:
        me = require(uow, Capability.MANAGE_TEAM)
        member = _managed(uow, member_id)
        if member.active == active:
            return member
        if not active and member.id == me.id:
            raise DomainError("You cannot deactivate yourself: ask another Owner.")
        if not active and member.role is Role.OWNER:
            _keep_an_owner(uow)
        _update(uow, member, active=active)
        uow.audit("member", member.id, "reactivated" if active else "deactivated",
                  before={"active": member.active}, after={"active": active})
        (admin.reactivate if active else admin.deactivate)(member.login)
        uow.commit()
    return Member(member.id, member.login, member.name, member.role, active,
                  member.version + 1)


def reset_password(factory: UnitOfWorkFactory, admin: TeamAdmin, member_id: int) -> str:
    """A new one-time password for a member who forgot theirs (shown once)."""
    password = one_time_password()
    with factory() as uow:
        member = _managed(uow, member_id)
        uow.audit("member", member.id, "password reset")  # never the password itself
        admin.reset_password(member.login, password)
        uow.commit()
    return password


def _managed(uow: UnitOfWork, member_id: int) -> Member:
    require(uow, Capability.MANAGE_TEAM)
    row = next((row for row in uow.members.all() if row.id == member_id), None)
    if row is None:
        raise DomainError("This member no longer exists: reload the team list.")
    return member_from_row(row)


def _keep_an_owner(uow: UnitOfWork) -> None:
    """Called before an active Owner stops being one."""
    if uow.members.count_active(Role.OWNER.value) <= 1:
        raise LastOwner()


def _update(uow: UnitOfWork, member: Member, **values) -> None:
    if not uow.members.update(member.id, member.version, uow.now, **values):
        raise ConcurrentChange()


class NoLogins:
    """:class:`TeamAdmin` for a solo workspace: members have no database logins."""

    def add_member(self, login: str, role: str, password: str) -> None:
        pass

    def change_role(self, login: str, role: str) -> None:
        pass

    def deactivate(self, login: str) -> None:
        pass

    def reactivate(self, login: str) -> None:
        pass

    def reset_password(self, login: str, password: str) -> None:
        pass

    def change_own_password(self, login: str, old: str, new: str) -> None:
        pass

    def password_is_temporary(self, login: str) -> bool:
        return False
