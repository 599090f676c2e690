"""Exactly once under faults: optimistic versions on milestones and operations, the
"may have reached Stripe" flag, and history kept for deleted milestones.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("milestones", sa.Column("version", sa.Integer, nullable=False,
                                          server_default="1"))
    op.add_column("stripe_operations", sa.Column("version", sa.Integer, nullable=False,
                                                 server_default="1"))
    op.add_column("stripe_operations", sa.Column("maybe_sent", sa.Boolean, nullable=False,
                                                 server_default=sa.false()))
    op.add_column("stripe_operations", sa.Column("milestone_ref", sa.String(240),
                                                 nullable=False, server_default=""))
    # Operations that ever ended in an unknown outcome may have reached Stripe.
    ops = sa.table("stripe_operations", sa.column("maybe_sent", sa.Boolean),
                   sa.column("error_kind", sa.String), sa.column("status", sa.String))
    op.execute(ops.update().where(sa.or_(ops.c.error_kind.in_(["TIMEOUT", "SERVER"]),
                                         ops.c.status == "SENDING"))
               .values(maybe_sent=sa.true()))


def downgrade() -> None:
    op.drop_column("stripe_operations", "milestone_ref")
    op.drop_column("stripe_operations", "maybe_sent")
    op.drop_column("stripe_operations", "version")
    op.drop_column("milestones", "version")
