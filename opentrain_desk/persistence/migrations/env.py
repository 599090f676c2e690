"""Alembic environment: runs on a connection handed over by ``database.migrate``."""
from alembic import context

from opentrain_desk.persistence.orm import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
