"""Invoices: issued documents (immutable snapshots) and gapless per-series counters.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("series", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("billing_type", sa.String(16), nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("bill_to", sa.Text, nullable=False),
        sa.Column("project_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payment_status", sa.String(40), nullable=False),
        sa.Column("stripe_refs", sa.Text, nullable=False, server_default="[]"),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id")),
        sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id")),
        sa.Column("milestone_id", sa.Integer, sa.ForeignKey("milestones.id")),
        sa.Column("operation_id", sa.String(32)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("series", "seq"),
    )
    op.create_index("ix_invoices_issue_date", "invoices", ["issue_date"])
    op.create_table(
        "invoice_counters",
        sa.Column("series", sa.String(16), primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invoice_counters")
    op.drop_table("invoices")
