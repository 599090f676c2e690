"""Payouts: trainer payout readiness, notifications, outgoing messages to trainers.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATES = ("QUEUED", "SENDING", "SUCCEEDED", "FAILED", "NEEDS_ACTION", "CANCELLED", "WAITING")


def upgrade() -> None:
    with op.batch_alter_table("trainers") as batch:
        batch.add_column(sa.Column("payouts_enabled", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("requirements_due", sa.Text, nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("disabled_reason", sa.String(200), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("account_checked_at", sa.DateTime))
    with op.batch_alter_table("stripe_operations") as batch:
        batch.alter_column("status", existing_type=sa.Enum(
            *STATES[:-1], name="operationstatus", native_enum=False, length=32),
            type_=sa.Enum(*STATES, name="operationstatus", native_enum=False, length=32),
            existing_nullable=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False, server_default=""),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id")),
        sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id")),
        sa.Column("milestone_id", sa.Integer,
                  sa.ForeignKey("milestones.id", ondelete="SET NULL")),
        sa.Column("read_at", sa.DateTime),
    )
    op.create_index("ix_notifications_unread", "notifications", ["read_at", "id"])
    op.create_table(
        "outgoing_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trainer_id", sa.Integer, sa.ForeignKey("trainers.id"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False, server_default=""),
        sa.Column("sent_at", sa.DateTime),
    )
    op.create_index("ix_outgoing_messages_trainer", "outgoing_messages", ["trainer_id", "id"])


def downgrade() -> None:
    op.drop_table("outgoing_messages")
    op.drop_table("notifications")
    with op.batch_alter_table("trainers") as batch:
        for column in ("account_checked_at", "disabled_reason", "requirements_due",
                       "payouts_enabled"):
            batch.drop_column(column)
