"""Tables and the imperative mapping of the plain domain classes onto them.

The domain never imports this module; ``start_mappers()`` is called once by the
composition root (and by tests) before the first session is opened.
"""
from __future__ import annotations

from datetime import timezone

import sqlalchemy as sa
from sqlalchemy.orm import registry

from ..domain.jobs import AuditEntry, Contract, Job, Trainer
from ..domain.milestones import Milestone, MilestoneStatus, PayoutStatus
from ..domain.operations import ErrorKind, OperationKind, OperationStatus, StripeOperation

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
})
mapper_registry = registry(metadata=metadata)



class Timestamp(sa.types.TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (same on SQLite and PG)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use an aware UTC datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _enum(cls: type) -> sa.Enum:
    # Stored by member name as plain text: portable across SQLite and PostgreSQL.
    return sa.Enum(cls, native_enum=False, length=32, validate_strings=True)


jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("archived_at", Timestamp()),
    sa.Column("updated_at", Timestamp()),
    sa.Column("updated_by", sa.String(200), nullable=False, server_default=""),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

trainers = sa.Table(
    "trainers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("stripe_account_id", sa.String(64)),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("payouts_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("requirements_due", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled_reason", sa.String(200), nullable=False, server_default=""),
    sa.Column("account_checked_at", Timestamp()),
    sa.Column("do_not_email", sa.Boolean, nullable=False, server_default=sa.false()),
)

contracts = sa.Table(
    "contracts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.ForeignKey("jobs.id"), nullable=False, index=True),
    sa.Column("trainer_id", sa.ForeignKey("trainers.id"), nullable=False, index=True),
    sa.Column("hired_on", sa.Date, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("job_id", "trainer_id"),
)

milestones = sa.Table(
    "milestones", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contract_id", sa.ForeignKey("contracts.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("due_date", sa.Date),
    sa.Column("status", _enum(MilestoneStatus), nullable=False),
    sa.Column("payout_status", _enum(PayoutStatus), nullable=False),
    sa.Column("status_note", sa.Text, nullable=False, server_default=""),
    sa.Column("submission_note", sa.Text, nullable=False, server_default=""),
    sa.Column("deliverable_url", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Column("funded_at", Timestamp()),
    sa.Column("submitted_at", Timestamp()),
    sa.Column("approved_at", Timestamp()),
    sa.Column("approved_by", sa.String(200)),
    sa.Column("payment_intent_id", sa.String(64)),
    sa.Column("charge_id", sa.String(64)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("updated_by", sa.String(200), nullable=False, server_default=""),
    sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    sa.Index("ix_milestones_contract_position", "contract_id", "position"),
    sa.Index("ix_milestones_status", "status"),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", Timestamp(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("entity_id", sa.Integer),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Index("ix_audit_log_entity", "entity", "entity_id"),
)

workspace_settings = sa.Table(
    "workspace_settings", metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

stripe_operations = sa.Table(
    "stripe_operations", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", _enum(OperationKind), nullable=False),
    sa.Column("milestone_id", sa.ForeignKey("milestones.id")),
    sa.Column("status", _enum(OperationStatus), nullable=False),
    sa.Column("idempotency_key", sa.String(80), nullable=False, unique=True),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("payment_method_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("destination", sa.String(64), nullable=False, server_default=""),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_kind", _enum(ErrorKind)),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("stripe_object_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("charge_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Column("sent_at", Timestamp()),
    sa.Column("next_attempt_at", Timestamp()),
    sa.Column("maybe_sent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("milestone_ref", sa.String(240), nullable=False, server_default=""),
    sa.Column("purpose", sa.String(24), nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_stripe_operations_status_due", "status", "next_attempt_at"),
    sa.Index("ix_stripe_operations_milestone", "milestone_id"),
)

#: The outbox as the read side reads it (a view, migration 0010): in a team workspace the
#: Stripe ids are blank for the roles that may not read them (``team_security``). Kept out
#: of ``metadata`` (it is not a table to create or copy).
views = sa.MetaData()
stripe_operations_read = sa.Table(
    "stripe_operations_read", views,
    *(sa.Column(column.name, column.type, primary_key=column.primary_key)
      for column in stripe_operations.columns))

members = sa.Table(
    "members", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("login", sa.String(63), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # domain.roles.Role value
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", Timestamp(), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    sa.Column("job_id", sa.ForeignKey("jobs.id")),
    sa.Column("contract_id", sa.ForeignKey("contracts.id")),
    sa.Column("milestone_id", sa.ForeignKey("milestones.id", ondelete="SET NULL")),
    sa.Column("read_at", Timestamp()),
    sa.Index("ix_notifications_unread", "read_at", "id"),
)

outgoing_messages = sa.Table(
    "outgoing_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("trainer_id", sa.ForeignKey("trainers.id"), nullable=False),
    sa.Column("at", Timestamp(), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False, server_default=""),
    sa.Column("sent_at", Timestamp()),
    # the mail outbox (migration 0010; see mail/outbox.py)
    sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp()),
    sa.Column("claimed_at", Timestamp()),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("message_id", sa.String(250), nullable=False, server_default=""),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    sa.Column("event_key", sa.String(200)),
    sa.Column("to_address", sa.String(320), nullable=False, server_default=""),
    sa.Index("ix_outgoing_messages_trainer", "trainer_id", "id"),
    sa.Index("ix_outgoing_messages_event", "event_key", unique=True),
    sa.Index("ix_outgoing_messages_status", "status", "next_attempt_at"),
)

invoices = sa.Table(
    "invoices", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("series", sa.String(16), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("billing_type", sa.String(16), nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("issuer", sa.Text, nullable=False),    # JSON snapshot of the party
    sa.Column("bill_to", sa.Text, nullable=False),   # JSON snapshot of the party
    sa.Column("project_name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payment_status", sa.String(40), nullable=False),
    sa.Column("stripe_refs", sa.Text, nullable=False, server_default="[]"),
    sa.Column("job_id", sa.ForeignKey("jobs.id")),
    sa.Column("contract_id", sa.ForeignKey("contracts.id")),
    sa.Column("milestone_id", sa.ForeignKey("milestones.id")),
    sa.Column("operation_id", sa.String(32)),
    sa.Column("external_ref", sa.String(64)),  # e.g. the Stripe invoice a SUB mirrors
    sa.Column("corrects", sa.String(32)),      # a credit note: the invoice it corrects
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("series", "seq"),
    sa.UniqueConstraint("external_ref"),
    sa.Index("ix_invoices_issue_date", "issue_date"),
)

invoice_counters = sa.Table(
    "invoice_counters", metadata,
    sa.Column("series", sa.String(16), primary_key=True),
    sa.Column("last_seq", sa.Integer, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("mode", sa.String(8), nullable=False),
    sa.Column("stripe_subscription_id", sa.String(64), unique=True),
    sa.Column("plan_id", sa.String(64), nullable=False),
    sa.Column("plan_name", sa.String(200), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("interval", sa.String(8), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("current_period_start", Timestamp()),
    sa.Column("current_period_end", Timestamp()),
    sa.Column("cancel_at_period_end", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", Timestamp(), nullable=False),
)

stripe_events = sa.Table(
    "stripe_events", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(80), nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("applied_at", Timestamp(), nullable=False),
    sa.Column("outcome", sa.Text, nullable=False, server_default=""),
)

disputes = sa.Table(
    "disputes", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("milestone_id", sa.ForeignKey("milestones.id", ondelete="SET NULL"),
              index=False),
    sa.Column("payment_intent_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("charge_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(80), nullable=False, server_default=""),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("due_by", Timestamp()),
    sa.Column("evidence", sa.Text, nullable=False, server_default="{}"),
    sa.Column("submitted_at", Timestamp()),
    sa.Column("closed_at", Timestamp()),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Index("ix_disputes_milestone", "milestone_id"),
)

_mapped = False


def start_mappers() -> None:
    """Map the domain classes (idempotent)."""
    global _mapped
    if _mapped:
        return
    mapper_registry.map_imperatively(Job, jobs, version_id_col=jobs.c.version)
    mapper_registry.map_imperatively(Trainer, trainers)
    mapper_registry.map_imperatively(Contract, contracts)
    # Optimistic versions: every ORM UPDATE of a job, milestone or operation is a
    # compare-and-set on the version it was read in (StaleDataError when another
    # transaction, thread or process moved it first). Core UPDATEs bump it themselves.
    mapper_registry.map_imperatively(Milestone, milestones,
                                     version_id_col=milestones.c.version)
    mapper_registry.map_imperatively(AuditEntry, audit_log)
    mapper_registry.map_imperatively(StripeOperation, stripe_operations,
                                     version_id_col=stripe_operations.c.version)
    _mapped = True
