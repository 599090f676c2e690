"""Shared fixtures: headless Qt, isolated per-user folders, SQLite and PostgreSQL URLs."""
from __future__ import annotations

import os
import uuid

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from opentrain_desk.config import Settings  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "OPENTRAIN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Nothing a test does touches the real per-user folders."""
    monkeypatch.setenv("OPENTRAIN_DESK_HOME", str(tmp_path / "home"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{(tmp_path / 'workspace.sqlite').as_posix()}"


def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


@pytest.fixture
def postgres_url():
    """A fresh schema in the ``test`` database, dropped afterwards."""
    if not _postgres_available():
        if os.environ.get("OPENTRAIN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    schema = f"otd_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, sqlite_url):
    if request.param == "sqlite":
        return sqlite_url
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path, sqlite_url) -> Settings:
    return Settings(home=tmp_path / "home", db_url=sqlite_url, actor="tester")
