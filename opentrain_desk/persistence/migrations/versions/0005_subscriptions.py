"""Agency subscription plans; invoices may mirror an external (Stripe) invoice.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(64), unique=True),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("plan_name", sa.String(200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("current_period_start", sa.DateTime),
        sa.Column("current_period_end", sa.DateTime),
        sa.Column("cancel_at_period_end", sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("external_ref", sa.String(64)))
        batch.create_unique_constraint("uq_invoices_external_ref", ["external_ref"])


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint("uq_invoices_external_ref", type_="unique")
        batch.drop_column("external_ref")
    op.drop_table("subscriptions")
