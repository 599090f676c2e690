"""Foundation: jobs, trainers, contracts, milestones, audit log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MILESTONE_STATES = ("NOT_FUNDED", "FUNDING", "ACTIVE_FUNDED", "PENDING_APPROVAL", "PAID")
PAYOUT_STATES = ("NOT_STARTED", "PENDING_SETUP", "PENDING_RETRY", "PAID_OUT", "FAILED")


def _status(name, values):
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("archived_at", sa.DateTime),
    )
    op.create_table(
        "trainers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("stripe_account_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), nullable=False, index=True),
        sa.Column("trainer_id", sa.Integer, sa.ForeignKey("trainers.id"), nullable=False, index=True),
        sa.Column("hired_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("job_id", "trainer_id"),
    )
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("status", _status("milestonestatus", MILESTONE_STATES), nullable=False),
        sa.Column("payout_status", _status("payoutstatus", PAYOUT_STATES), nullable=False),
        sa.Column("status_note", sa.Text, nullable=False, server_default=""),
        sa.Column("submission_note", sa.Text, nullable=False, server_default=""),
        sa.Column("deliverable_url", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("funded_at", sa.DateTime),
        sa.Column("submitted_at", sa.DateTime),
        sa.Column("approved_at", sa.DateTime),
        sa.Column("approved_by", sa.String(200)),
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    )
    op.create_index("ix_milestones_contract_position", "milestones", ["contract_id", "position"])
    op.create_index("ix_milestones_status", "milestones", ["status"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.Integer),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])


def downgrade() -> None:
    for table in ("audit_log", "milestones", "contracts", "trainers", "jobs"):
        op.drop_table(table)
