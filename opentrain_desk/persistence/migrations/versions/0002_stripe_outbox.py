"""Stripe funding: durable operations (outbox), workspace settings, payment references.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KINDS = ("FUND_MILESTONE", "PAYOUT")
STATES = ("QUEUED", "SENDING", "SUCCEEDED", "FAILED", "NEEDS_ACTION", "CANCELLED")
ERRORS = ("NETWORK", "TIMEOUT", "RATE_LIMITED", "SERVER", "DECLINED", "AUTH_REQUIRED",
          "KEY_REJECTED", "INVALID", "NOT_READY", "BALANCE")


def _enum(name, values):
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("milestones") as batch:
        batch.add_column(sa.Column("payment_intent_id", sa.String(64)))
        batch.add_column(sa.Column("charge_id", sa.String(64)))
    op.create_table(
        "workspace_settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "stripe_operations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", _enum("operationkind", KINDS), nullable=False),
        sa.Column("milestone_id", sa.Integer, sa.ForeignKey("milestones.id")),
        sa.Column("status", _enum("operationstatus", STATES), nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False, unique=True),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("payment_method_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("destination", sa.String(64), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error_kind", _enum("errorkind", ERRORS)),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("stripe_object_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("charge_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("next_attempt_at", sa.DateTime),
    )
    op.create_index("ix_stripe_operations_status_due", "stripe_operations",
                    ["status", "next_attempt_at"])
    op.create_index("ix_stripe_operations_milestone", "stripe_operations", ["milestone_id"])


def downgrade() -> None:
    op.drop_table("stripe_operations")
    op.drop_table("workspace_settings")
    with op.batch_alter_table("milestones") as batch:
        batch.drop_column("charge_id")
        batch.drop_column("payment_intent_id")
