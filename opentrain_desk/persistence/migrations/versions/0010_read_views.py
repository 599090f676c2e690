"""The outbox as the read side sees it: ``stripe_operations_read``.

A plain copy of ``stripe_operations`` here; in a team workspace
``persistence/team_security.provision`` replaces it with a view that blanks the Stripe ids
(idempotency key, Stripe object, customer, payment method) for the roles that may not read
them, so the read side works unchanged for every role.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE VIEW stripe_operations_read AS SELECT * FROM stripe_operations")


def downgrade() -> None:
    op.execute("DROP VIEW stripe_operations_read")
