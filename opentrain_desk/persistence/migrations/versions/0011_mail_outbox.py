"""The mail outbox: messages owed to trainers are sent by the app (SMTP), once.

``outgoing_messages`` gains a status (draft | queued | sending | sent | failed | unknown |
withheld | withdrawn), the attempt count and next attempt, the last error, the stable
Message-ID, the template fields (JSON) and the event key (one message per event);
``trainers`` gains ``do_not_email``.

Existing rows keep their meaning: those marked sent by hand are ``sent``; the others are
``draft`` (the mail-client way: never sent automatically, so configuring SMTP later does
not mail months-old drafts), withdrawn prompts are ``withdrawn``.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_messages") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False,
                                   server_default="draft"))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime))
        batch.add_column(sa.Column("claimed_at", sa.DateTime))
        batch.add_column(sa.Column("last_error", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("message_id", sa.String(250), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("data", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("event_key", sa.String(200)))
        batch.add_column(sa.Column("to_address", sa.String(320), nullable=False,
                                   server_default=""))
    op.create_index("ix_outgoing_messages_event", "outgoing_messages", ["event_key"],
                    unique=True)
    op.create_index("ix_outgoing_messages_status", "outgoing_messages",
                    ["status", "next_attempt_at"])
    messages = sa.table("outgoing_messages", sa.column("status", sa.String),
                        sa.column("sent_at", sa.DateTime), sa.column("kind", sa.String))
    op.execute(messages.update().where(messages.c.sent_at.is_not(None))
               .values(status="sent"))
    op.execute(messages.update().where(messages.c.sent_at.is_(None),
                                       messages.c.kind.like("% (withdrawn)"))
               .values(status="withdrawn"))
    with op.batch_alter_table("trainers") as batch:
        batch.add_column(sa.Column("do_not_email", sa.Boolean, nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("trainers") as batch:
        batch.drop_column("do_not_email")
    op.drop_index("ix_outgoing_messages_status", "outgoing_messages")
    op.drop_index("ix_outgoing_messages_event", "outgoing_messages")
    with op.batch_alter_table("outgoing_messages") as batch:
        for name in ("to_address", "event_key", "data", "message_id", "last_error",
                     "claimed_at", "next_attempt_at", "attempts", "status"):
            batch.drop_column(name)
