"""What happens at Stripe reaches the books: the events applied (each once) and disputes.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(80), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("applied_at", sa.DateTime, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("milestone_id", sa.Integer, sa.ForeignKey(
            "milestones.id", name="fk_disputes_milestone_id_milestones", ondelete="SET NULL")),
        sa.Column("payment_intent_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("charge_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(80), nullable=False, server_default=""),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("due_by", sa.DateTime),
        sa.Column("evidence", sa.Text, nullable=False, server_default="{}"),
        sa.Column("submitted_at", sa.DateTime),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_disputes_milestone", "disputes", ["milestone_id"])


def downgrade() -> None:
    op.drop_index("ix_disputes_milestone", "disputes")
    op.drop_table("disputes")
    op.drop_table("stripe_events")
