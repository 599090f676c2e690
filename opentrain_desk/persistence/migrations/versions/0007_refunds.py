"""Money off the happy path: why a refund is made (its purpose and reason) and which
invoice a credit note corrects.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stripe_operations", sa.Column("purpose", sa.String(24), nullable=False,
                                                 server_default=""))
    op.add_column("stripe_operations", sa.Column("note", sa.Text, nullable=False,
                                                 server_default=""))
    op.add_column("invoices", sa.Column("corrects", sa.String(32)))


def downgrade() -> None:
    op.drop_column("invoices", "corrects")
    op.drop_column("stripe_operations", "note")
    op.drop_column("stripe_operations", "purpose")
