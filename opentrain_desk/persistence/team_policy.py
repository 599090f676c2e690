"""What each role may write, derived from the domain, in the shape the database needs.

Plain data (no SQL here): ``team_security`` turns it into grants and guard triggers. Every
rule comes from ``domain/roles.py`` (who has which capability) and ``domain/milestones.py``
(which status change is which action), so the app's "Your role cannot …" and the
database's refusal always agree.
"""
from __future__ import annotations

from ..domain.milestones import TRANSITIONS, Action, MilestoneStatus
from ..domain.roles import CAPABILITIES, Capability, Role
from ..services import workspace_settings as keys

#: The capability each lifecycle action needs.
ACTION_CAPABILITY: dict[Action, Capability] = {
    Action.START_FUNDING: Capability.FUND,
    Action.FUNDING_SUCCEEDED: Capability.FUND,
    Action.FUNDING_FAILED: Capability.FUND,
    Action.CANCEL_FUNDING: Capability.FUND,
    Action.ADOPT_CHARGE: Capability.FUND,
    Action.SUBMIT: Capability.RECORD_SUBMISSION,
    Action.REQUEST_CHANGES: Capability.REQUEST_CHANGES,
    Action.APPROVE: Capability.APPROVE,
    Action.REFUND: Capability.REFUND,
    Action.REFUND_SUCCEEDED: Capability.REFUND,
    Action.REFUND_FAILED: Capability.REFUND,
    Action.REFUNDED_AT_STRIPE: Capability.REFUND,
}

#: Capabilities that move or record money: the payment worker's and the money dialogs'.
MONEY = (Capability.FUND, Capability.APPROVE, Capability.REFUND, Capability.SEND_PAYMENTS)


def status_changes() -> dict[tuple[str, str], frozenset[Capability]]:
    """``(old, new)`` stored status names → the capabilities any one of which allows it."""
    found: dict[tuple[str, str], set[Capability]] = {}
    for (old, action), new in TRANSITIONS.items():
        found.setdefault((old.name, new.name), set()).add(ACTION_CAPABILITY[action])
    return {pair: frozenset(caps) for pair, caps in found.items()}


def roles_with(*capabilities: Capability) -> list[Role]:
    """Roles having any of ``capabilities`` (in Role order)."""
    return [role for role in Role if CAPABILITIES[role] & set(capabilities)]


#: Milestone columns a person edits while it is Not Funded (EDIT_MILESTONES).
CONTENT_COLUMNS = ("title", "description", "due_date", "position")
#: Columns only the money side writes (FUND/APPROVE/REFUND/SEND_PAYMENTS).
MONEY_COLUMNS = ("payout_status", "funded_at", "approved_at", "approved_by",
                 "payment_intent_id", "charge_id")
#: Columns recording the trainer's submission (RECORD_SUBMISSION).
SUBMISSION_COLUMNS = ("submission_note", "deliverable_url", "submitted_at")
NOT_FUNDED = MilestoneStatus.NOT_FUNDED.name

#: ``workspace_settings`` keys (LIKE patterns, first match wins) → who may write them.
SETTING_RULES: tuple[tuple[str, Capability], ...] = (
    (keys.COMPANY_NAME, Capability.COMPANY_DETAILS),
    (keys.COMPANY_EMAIL, Capability.COMPANY_DETAILS),
    (keys.COMPANY_ADDRESS, Capability.COMPANY_DETAILS),
    (keys.COMPANY_TAX_ID, Capability.COMPANY_DETAILS),
    (keys.COMPANY_LOGO, Capability.COMPANY_DETAILS),
    (keys.ACCOUNT_TYPE, Capability.PLAN),
    (keys.STRIPE_KEY_HINT, Capability.STRIPE_KEY),
    (keys.STRIPE_MODE, Capability.STRIPE_KEY),
    (keys.customer_key("%"), Capability.BILLING),
    (keys.default_card_key("%"), Capability.BILLING),
    (keys.bank_methods_key("%"), Capability.BILLING),
    ("stripe.%", Capability.SEND_PAYMENTS),  # event cursors, sync times
)
#: Any other key (workspace id, team setup, people's names) is the Owner's.
OTHER_SETTINGS = Capability.MANAGE_TEAM
#: Settings holding Stripe ids that only money roles read (row-level security).
SECRET_SETTINGS = (keys.customer_key("%"), keys.default_card_key("%"),
                   keys.bank_methods_key("%"))

#: Outbox columns a role without money capabilities cannot read: Stripe identifiers it has
#: no use for (the read side shows them blank through the ``stripe_operations_read`` view).
#: ``charge_id`` and ``destination`` stay readable: they are printed on the invoices and the
#: trainer list an Accountant works from anyway.
SECRET_OPERATION_COLUMNS = ("idempotency_key", "stripe_object_id", "customer_id",
                            "payment_method_id")

#: Table privileges per role, on top of SELECT for everyone (``*`` = every column).
#: Guard triggers narrow these down row by row (``team_security``).
WRITES: dict[str, dict[Capability, str]] = {
    "jobs": {Capability.MANAGE_JOBS: "INSERT, UPDATE, DELETE"},
    "trainers": {Capability.HIRE: "INSERT, UPDATE (name, email)",
                 Capability.SEND_PAYMENTS: "UPDATE"},
    "contracts": {Capability.HIRE: "INSERT"},
    "milestones": {Capability.EDIT_MILESTONES: "INSERT, UPDATE, DELETE",
                   Capability.RECORD_SUBMISSION: "UPDATE",
                   Capability.REQUEST_CHANGES: "UPDATE",
                   Capability.FUND: "UPDATE", Capability.APPROVE: "UPDATE",
                   Capability.REFUND: "UPDATE"},
    # deleting a Not Funded milestone detaches its declined fundings (guarded)
    "stripe_operations": {Capability.SEND_PAYMENTS: "INSERT, UPDATE, DELETE",
                          Capability.EDIT_MILESTONES: "UPDATE (milestone_id, milestone_ref, "
                                                      "version)"},
    # every member may mark notifications read (the read mark is shared by the team)
    "notifications": {Capability.SEND_PAYMENTS: "INSERT, UPDATE, DELETE",
                      Capability.MESSAGES: "INSERT, UPDATE, DELETE",
                      Capability.READ: "UPDATE (read_at)"},
    "outgoing_messages": {Capability.MESSAGES: "INSERT, UPDATE"},
    "invoices": {Capability.SEND_PAYMENTS: "INSERT, UPDATE"},
    "invoice_counters": {Capability.SEND_PAYMENTS: "INSERT, UPDATE"},
    "subscriptions": {Capability.PLAN: "INSERT, UPDATE, DELETE"},
    "stripe_events": {Capability.SEND_PAYMENTS: "INSERT, UPDATE"},
    "disputes": {Capability.REFUND: "INSERT, UPDATE"},
    "workspace_settings": {Capability.COMPANY_DETAILS: "INSERT, UPDATE, DELETE",
                           Capability.BILLING: "INSERT, UPDATE, DELETE",
                           Capability.MANAGE_TEAM: "INSERT, UPDATE, DELETE"},
    # every role that writes anything also writes its audit entries (append-only)
    "audit_log": {Capability.COMPANY_DETAILS: "INSERT", Capability.MANAGE_JOBS: "INSERT",
                  Capability.SEND_PAYMENTS: "INSERT"},
    # Settings → Team writes the members row (services/team_admin.py) and the login side
    # through the member functions (team_members); a trigger keeps an active Owner
    "members": {Capability.MANAGE_TEAM: "INSERT, UPDATE"},
}


def grants() -> dict[Role, dict[str, list[str]]]:
    """Role → table → privilege clauses (what ``GRANT … ON table`` lists)."""
    result: dict[Role, dict[str, list[str]]] = {role: {} for role in Role}
    for table, by_capability in WRITES.items():
        for capability, privileges in by_capability.items():
            for role in roles_with(capability):
                clauses = result[role].setdefault(table, [])
                if privileges not in clauses:
                    clauses.append(privileges)
    return result


def sees_stripe_ids(role: Role) -> bool:
    return bool(CAPABILITIES[role] & set(MONEY)) or Capability.EDIT_MILESTONES in \
        CAPABILITIES[role]
