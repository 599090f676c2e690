"""Who may do what in a workspace: the five roles and their capabilities.

One table, in product words. The app hides what a role cannot do and the services refuse
it with :class:`RoleRefused` ("Your role (Accountant) cannot approve milestones."); in a
team workspace the database refuses it too (``persistence/team_security.py``), because a
desktop client that holds database credentials can be bypassed.
"""
from __future__ import annotations

import enum

from .errors import DomainError


class Role(enum.Enum):
    OWNER = "owner"
    FINANCE = "finance"
    MANAGER = "manager"
    ACCOUNTANT = "accountant"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(role.value for role in cls)
            raise DomainError(f"“{text}” is not a role; use one of: {names}.") from None


class Capability(enum.Enum):
    """Each one is something a person does, worded for "Your role cannot …"."""

    READ = "read the books"
    MANAGE_JOBS = "create, edit or archive jobs"
    HIRE = "hire trainers"
    EDIT_MILESTONES = "create or edit milestones"
    RECORD_SUBMISSION = "record submissions"
    REQUEST_CHANGES = "request changes"
    FUND = "fund milestones"
    APPROVE = "approve milestones and release payments"
    REFUND = "refund or cancel funded milestones"
    BILLING = "change payment methods"
    PLAN = "change the subscription plan"
    STRIPE_KEY = "change the Stripe key"
    SEND_PAYMENTS = "send payments to Stripe"
    EXPORT = "export reports"
    COMPANY_DETAILS = "change the company details"
    MESSAGES = "send or mark messages to trainers"
    MANAGE_TEAM = "manage the team"


_MONEY = {Capability.FUND, Capability.APPROVE, Capability.REFUND, Capability.BILLING,
          Capability.PLAN, Capability.STRIPE_KEY, Capability.SEND_PAYMENTS}
_WORK = {Capability.MANAGE_JOBS, Capability.HIRE, Capability.EDIT_MILESTONES,
         Capability.RECORD_SUBMISSION, Capability.REQUEST_CHANGES, Capability.MESSAGES}

CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    Role.FINANCE: frozenset({Capability.READ, Capability.EXPORT, Capability.MESSAGES,
                             *_MONEY}),
    Role.MANAGER: frozenset({Capability.READ, Capability.EXPORT, *_WORK}),
    Role.ACCOUNTANT: frozenset({Capability.READ, Capability.EXPORT,
                                Capability.COMPANY_DETAILS}),
    Role.VIEWER: frozenset({Capability.READ}),
}


def can(role: Role, capability: Capability) -> bool:
    return capability in CAPABILITIES[role]


class RoleRefused(DomainError):
    def __init__(self, role: Role, capability: Capability) -> None:
        super().__init__(f"Your role ({role.label}) cannot {capability.value}. Ask an Owner "
                         "to change your role in Settings → Team.")
        self.role, self.capability = role, capability


def require(role: Role, capability: Capability) -> None:
    if not can(role, capability):
        raise RoleRefused(role, capability)
