"""The newest schema revision, without SQLAlchemy or Alembic (start-up reads it early)."""

#: The newest migration. Checked against Alembic's scripts by a test; lets a workspace that
#: is already up to date open without importing Alembic at all (~200 ms of start-up).
HEAD_REVISION = "0011"
