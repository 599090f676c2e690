"""Team workspaces: the members who sign in (each a database login), and who changed a
job or milestone last (for "changed by <member> at 14:02").

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("login", sa.String(63), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.add_column("milestones", sa.Column("updated_by", sa.String(200), nullable=False,
                                          server_default=""))
    op.add_column("jobs", sa.Column("updated_at", sa.DateTime))
    op.add_column("jobs", sa.Column("updated_by", sa.String(200), nullable=False,
                                    server_default=""))
    op.add_column("jobs", sa.Column("version", sa.Integer, nullable=False,
                                    server_default="1"))


def downgrade() -> None:
    op.drop_column("jobs", "version")
    op.drop_column("jobs", "updated_by")
    op.drop_column("jobs", "updated_at")
    op.drop_column("milestones", "updated_by")
    op.drop_table("members")
