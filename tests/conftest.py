"""Shared fixtures: headless Qt, isolated per-user folders, SQLite and PostgreSQL URLs."""
from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring  # noqa: E402
import keyring.backend  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from opentrain_desk.config import Settings, plain_sqlite_file  # noqa: E402
from opentrain_desk.persistence import database  # noqa: E402
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "frozen: builds the PyInstaller app (build.spec) and runs the frozen "
                   "binary; slow, deselected in the fast suite (run with -m frozen)")


PG_ADMIN_URL = os.environ.get(
    "OPENTRAIN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Nothing a test does touches the real per-user folders."""
    monkeypatch.setenv("OPENTRAIN_DESK_HOME", str(tmp_path / "home"))


def _top_level_widgets() -> dict[int, object]:
    """The application's top-level widgets by C++ address (none before Qt is imported)."""
    widgets = sys.modules.get("PySide6.QtWidgets")
    app = widgets.QApplication.instance() if widgets is not None else None
    if app is None:
        return {}
    from shiboken6 import getCppPointer
    return {getCppPointer(widget)[0]: widget for widget in app.topLevelWidgets()}


@pytest.fixture(autouse=True)
def _no_windows_left_behind():
    """Windows and dialogs a test leaves alive are closed and deleted after it, as pytest-qt
    does for the widgets given to ``qtbot.addWidget``. ``app.main()`` run in-process keeps
    its windows (a process that exits need not delete them); left alone, every later test
    pays for them: each stylesheet change re-polishes them, and each window's role gate
    filters every event of the application."""
    before = set(_top_level_widgets())  # addresses only: no reference kept
    yield
    left = [w for address, w in _top_level_widgets().items() if address not in before]
    if not left:
        return
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication
    for widget in left:
        widget.close()
        widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{(tmp_path / 'workspace.sqlite').as_posix()}"


@pytest.fixture(scope="session")
def _head_workspace(tmp_path_factory) -> Path:
    """An empty SQLite workspace migrated to the newest schema once per test process, by
    the same ``database.migrate`` the app runs. Fixtures whose tests are about the books,
    not about creating or migrating a workspace, start from a copy of it instead of running
    every migration again (a fifth of a second each, hundreds of times). Tests about
    migrating or opening a new workspace use ``sqlite_url`` / ``db_url`` as they are."""
    path = tmp_path_factory.mktemp("head") / "workspace.sqlite"
    engine = database.create_engine(f"sqlite:///{path.as_posix()}")
    database.migrate(engine)
    engine.dispose()  # the last connection checkpoints the WAL: one self-contained file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def at_head(url: str, template: Path) -> str:
    """``url``, a SQLite file not created yet, as an empty workspace at head: a copy of
    ``template`` (a file another fixture made already is left as it is). Other URLs are
    returned as they are (the caller migrates them)."""
    path = plain_sqlite_file(url)
    if path is not None and not path.exists():
        shutil.copyfile(template, path)
    return url


@pytest.fixture
def migrated_sqlite_url(sqlite_url, _head_workspace) -> str:
    """``sqlite_url`` with the workspace already at the newest schema (see _head_workspace)."""
    return at_head(sqlite_url, _head_workspace)


@pytest.fixture
def migrated_db_url(db_url, _head_workspace) -> str:
    """``db_url``; on SQLite already at the newest schema (a PostgreSQL schema is migrated
    by the test's own ``database.migrate``, a no-op on the SQLite copy)."""
    return at_head(db_url, _head_workspace)


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


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory OS keyring stand-in for tests (never used by the app itself)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def _sandbox_server():
    from opentrain_desk.sandbox.emulator import SandboxStripe
    server = SandboxStripe().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(_sandbox_server):
    """The embedded Stripe emulator, emptied before each test."""
    if not _sandbox_server.running:
        _sandbox_server.start()
    _sandbox_server.reset()
    return _sandbox_server


@pytest.fixture
def gateway(sandbox):
    from opentrain_desk.payments.stripe_gateway import StripeGateway
    return StripeGateway(sandbox.api_key, base_url=sandbox.base_url, timeout=5, mode="test")


@pytest.fixture
def factory(migrated_sqlite_url):
    engine = database.create_engine(migrated_sqlite_url)
    database.migrate(engine)  # at head already: the fast path
    yield UnitOfWorkFactory(engine, actor="owner@agency")
    engine.dispose()
