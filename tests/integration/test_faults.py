"""Issue 14: storage, start-up and connection faults through the real entry point.

Each case starts ``python -m opentrain_desk`` (or ``app.main`` in-process where a dialog
has to be clicked) in the faulty condition and checks the message, the exit code, that no
traceback reaches the user, and that no data or backup was lost."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtWidgets import QLabel, QPushButton

from opentrain_desk.hygiene import faults
from opentrain_desk.persistence import database
from opentrain_desk.services import jobs
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from tests.integration.test_hygiene import ROOT, app_env, job_titles

FAST = {"OPENTRAIN_DESK_BUSY_TIMEOUT": "1", "OPENTRAIN_DESK_CONNECT_TIMEOUT": "2"}


def run(*args: str, home: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opentrain_desk", *args], cwd=ROOT,
                          env=app_env(home, **FAST, **env), capture_output=True, text=True,
                          timeout=timeout)


def assert_refused(result, code: int, *phrases: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    for phrase in phrases:
        assert phrase in result.stderr, (phrase, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert "OpenTrain Desk: " in result.stderr  # a titled message, not a driver's text


def make_workspace(path: Path, titles=("Code review RLHF",), extra_jobs: int = 0) -> str:
    url = f"sqlite:///{path.as_posix()}"
    engine = database.create_engine(url)
    database.migrate(engine)
    factory = UnitOfWorkFactory(engine, "owner@agency")
    for title in list(titles) + [f"Job {i:04d} " + "x" * 150 for i in range(extra_jobs)]:
        with factory() as uow:
            jobs.create_job(uow, title)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return url


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(folder.iterdir())} if folder.is_dir() else {}


# -- case 1: a --db that is not a workspace URL ------------------------------------------
@pytest.mark.parametrize("url, why", [
    ("notaurl", "it is not a database URL"),
    ("mysql://agency:s3cret-pw@db.example/books", "“mysql” databases are not supported"),
    ("mongodb://x/y", "“mongodb” databases are not supported"),
    ("postgresql+nodriver://u@h/db", "is not installed"),
])
def test_a_bad_db_url_says_what_a_valid_one_looks_like(tmp_path, url, why):
    home = tmp_path / "home"
    result = run("--db", url, home=home)
    assert_refused(result, faults.EXIT_USAGE, "This is not a workspace address", why,
                   "sqlite:///", "postgresql+psycopg://", "Nothing was opened or changed")
    assert "s3cret-pw" not in result.stderr + result.stdout
    logged = (home / "logs" / "opentrain-desk.log").read_text(encoding="utf-8")
    assert "s3cret-pw" not in logged and "not a workspace address" in logged
    assert not (home / "workspace.sqlite").exists()


# -- case 2: an explicit file in a folder that does not exist ----------------------------
def test_a_missing_folder_is_an_error_and_nothing_is_created(tmp_path):
    missing = tmp_path / "nonexistent" / "dir"
    home = tmp_path / "home"
    result = run("--db", f"sqlite:///{(missing / 'x.sqlite').as_posix()}", home=home)
    assert_refused(result, faults.EXIT_NOT_FOUND, "The workspace folder does not exist",
                   str(missing), "Nothing was created")
    assert not (tmp_path / "nonexistent").exists()
    assert not list(home.rglob("*.sqlite"))


# -- case 3: zero-byte and damaged workspace files ---------------------------------------
def _with_backup(tmp_path: Path, extra_jobs: int = 0) -> tuple[Path, Path, Path]:
    """A workspace with one job and a backup of it in ``home/backups``."""
    home, path = tmp_path / "home", tmp_path / "agency.sqlite"
    url = make_workspace(path, extra_jobs=extra_jobs)
    engine = database.create_engine(url)
    backup = database.backup_sqlite(engine, home / "backups", reason="daily")
    engine.dispose()
    return home, path, backup


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _random_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = random.Random(1).randbytes(100)
    path.write_bytes(bytes(data))


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 123])


def _random_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    rng = random.Random(2)
    for number in range(2, len(data) // page, 3):  # every third page after the first
        data[number * page: (number + 1) * page] = rng.randbytes(page)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, title", [
    (_zero, "The workspace is empty"),
    (_random_header, "The workspace file is damaged"),
    (_truncated, "The workspace file is damaged"),
    (_random_pages, "The workspace file is damaged"),
])
def test_a_damaged_workspace_is_left_untouched_and_the_newest_good_backup_offered(
        tmp_path, damage, title):
    home, path, backup = _with_backup(tmp_path, extra_jobs=60)
    damage(path)
    before, backups_before = digest(path), snapshot(home / "backups")
    result = run("--db", f"sqlite:///{path.as_posix()}", home=home)
    assert_refused(result, faults.EXIT_DAMAGED, title, str(path), "did not open or change it",
                   f'--restore "{backup}"', "Backups of this workspace")
    assert digest(path) == before, "the damaged file was changed"
    assert snapshot(home / "backups") == backups_before, "a backup was added or removed"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".lock") == [
        "agency.sqlite", "home"], "no -wal/-shm or copies left beside it"

    restored = run("--db", f"sqlite:///{path.as_posix()}", "--restore", str(backup), home=home)
    assert restored.returncode == 0, restored.stderr
    aside = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert [digest(p) for p in aside] == [before], "the damaged file is kept, unchanged"
    opened = run("--db", f"sqlite:///{path.as_posix()}", "--benchmark-startup", home=home)
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout.splitlines()[-1])["rows"] == 61


def test_damaged_without_a_good_backup_says_so(tmp_path):
    home, path = tmp_path / "home", tmp_path / "agency.sqlite"
    make_workspace(path)
    bad_backup = home / "backups" / "agency-20260101T000000000000Z-daily.sqlite"
    bad_backup.parent.mkdir(parents=True)
    bad_backup.write_bytes(b"not a database at all" * 100)
    _random_header(path)
    result = run("--db", f"sqlite:///{path.as_posix()}", home=home)
    assert_refused(result, faults.EXIT_DAMAGED, "None of the backups passed the check")
    assert bad_backup.read_bytes() == b"not a database at all" * 100


# -- case 4: a workspace written by a newer version --------------------------------------
def _stamp_newer(path: Path, revision: str = "9999_future", version: str = "9.9.0") -> None:
    """What a newer version leaves: its schema revision, and its name (from migrate)."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        conn.execute("UPDATE workspace_settings SET value = ? WHERE key = ?",
                     (version, database.WRITTEN_BY_KEY))
        conn.commit()


def test_a_newer_workspace_is_refused_without_writing_or_pruning_backups(tmp_path):
    home, path = tmp_path / "home", tmp_path / "agency.sqlite"
    url = make_workspace(path)
    engine = database.create_engine(url)
    backups = [database.backup_sqlite(engine, home / "backups", reason=f"daily{i}")
               for i in range(database.KEEP_BACKUPS)]
    engine.dispose()
    _stamp_newer(path)
    before, backups_before = digest(path), snapshot(home / "backups")
    for _start in range(2):  # every start used to add a pre-migrate backup and prune
        result = run("--db", url, home=home)
        assert_refused(result, faults.EXIT_NEWER, "Made by a newer OpenTrain Desk",
                       "was made by OpenTrain Desk 9.9.0", "9999_future",
                       f"reads formats up to {database.HEAD_REVISION}",
                       "no backup was written or removed")
    assert digest(path) == before
    assert snapshot(home / "backups") == backups_before and len(backups_before) == len(backups)


def test_pruning_keeps_the_newest_backup_this_version_can_open(tmp_path):
    path, folder = tmp_path / "agency.sqlite", tmp_path / "backups"
    url = make_workspace(path)
    engine = database.create_engine(url)
    openable = database.backup_sqlite(engine, folder, reason="daily")
    _stamp_newer(path)  # from now on a newer version writes the backups
    for i in range(database.KEEP_BACKUPS + 3):
        database.backup_sqlite(engine, folder, reason=f"newer{i}")
    engine.dispose()
    kept = database.list_backups(folder, path.stem)
    assert openable in kept and len(kept) == database.KEEP_BACKUPS + 1
    assert database.newest_openable(kept) == openable


# -- case 8: a database server that is down or never answers -----------------------------
def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
        except OSError:
            pass
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_a_server_that_is_down_is_named_with_the_reason(tmp_path):
    port = _free_port()
    url = f"postgresql+psycopg://agency@127.0.0.1:{port}/books"  # passwords: sign-in only
    started = time.monotonic()
    result = run("--db", url, home=tmp_path / "home")
    assert_refused(result, faults.EXIT_UNREACHABLE, "The workspace server cannot be reached",
                   f"127.0.0.1:{port}", "“books”", "nothing is accepting connections",
                   "Retry", "open another workspace")
    assert time.monotonic() - started < 20
    logged = (tmp_path / "home" / "logs" / "opentrain-desk.log").read_text(encoding="utf-8")
    assert "s3cret-pw" not in result.stderr + result.stdout + logged
    assert "Connection refused" in logged or "connection failed" in logged.lower()


def test_an_unknown_server_name_is_said_plainly(tmp_path):
    result = run("--db", "postgresql+psycopg://agency@no-such-host.invalid/books",
                 home=tmp_path / "home", timeout=40)
    assert_refused(result, faults.EXIT_UNREACHABLE, "no-such-host.invalid:5432",
                   "that server name is unknown")


def test_a_server_that_never_answers_times_out(tmp_path):
    server = SilentServer()
    try:
        started = time.monotonic()
        result = run("--db", f"postgresql+psycopg://agency@127.0.0.1:{server.port}/books",
                     home=tmp_path / "home", timeout=40)
        took = time.monotonic() - started
    finally:
        server.close()
    assert_refused(result, faults.EXIT_UNREACHABLE, f"127.0.0.1:{server.port}",
                   "did not answer within 2 seconds")
    assert server.accepted, "the app did reach the silent server"
    assert took < 15, f"waited {took:.1f} s for a server that never answers"


# -- case 9: a lock file naming a PID that an unrelated process now uses -----------------
def test_a_lock_naming_a_reused_pid_does_not_keep_the_app_from_starting(tmp_path):
    path, home = tmp_path / "agency.sqlite", tmp_path / "home"
    url = make_workspace(path)
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        name = os.path.basename(os.path.realpath(sys.executable))
        (tmp_path / "agency.sqlite.lock").write_text(  # what Qt's QLockFile used to leave
            f"{unrelated.pid}\n{name}\n{socket.gethostname()}\n", encoding="utf-8")
        result = run("--db", url, "--benchmark-startup", home=home)
    finally:
        unrelated.kill()
        unrelated.wait(timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["rows"] == 1
    assert "close it first" not in result.stdout + result.stderr


# -- the start-up dialog, in-process: its buttons do what they say -----------------------
@pytest.fixture
def quit_on_close(qapp):
    yield
    qapp.setQuitOnLastWindowClosed(True)


def _answer_dialog(qtbot, monkeypatch, act, shots: dict):
    """Make the problem dialog appear (as on a desktop) and let ``act`` click in it."""
    from PySide6.QtCore import QEvent, QTimer
    from PySide6.QtWidgets import QApplication

    from opentrain_desk.hygiene import problem_dialog
    monkeypatch.setattr(problem_dialog, "interactive", lambda: True)
    # an earlier in-process main() leaves windows to delete: closing them must not quit
    # the dialog's event loop
    QApplication.instance().setQuitOnLastWindowClosed(False)  # restored by quit_on_close
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()

    def poll() -> None:
        dialog = next((w for w in QApplication.topLevelWidgets()
                       if w.objectName() == "startupProblemDialog" and w.isVisible()), None)
        if dialog is None:
            QTimer.singleShot(50, poll)
            return
        shots["dialog"] = dialog.grab()
        shots["text"] = dialog.findChild(QLabel, "problemTextLabel").text()
        act(dialog)
    QTimer.singleShot(50, poll)


def test_the_restore_button_brings_back_the_newest_good_backup(qapp, qtbot, tmp_path,
                                                                monkeypatch, quit_on_close):
    from opentrain_desk.app import main
    home, path, backup = _with_backup(tmp_path)
    monkeypatch.setenv("OPENTRAIN_DESK_HOME", str(home))
    _random_header(path)
    damaged_bytes = digest(path)
    shots: dict = {}
    _answer_dialog(qtbot, monkeypatch, lambda d: d.findChild(
        QPushButton, "restoreBackupButton").click(), shots)
    code = main(["--db", f"sqlite:///{path.as_posix()}", "--benchmark-startup"])
    assert code == 0
    assert "is damaged" in shots["text"] and "Restore the newest good backup" in shots["text"]
    assert "Traceback" not in shots["text"]
    assert not shots["dialog"].isNull()
    shots["dialog"].save(str(tmp_path / "damaged.png"))  # looked at while writing this
    assert job_titles(f"sqlite:///{path.as_posix()}") == ["Code review RLHF"]
    aside = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert [digest(p) for p in aside] == [damaged_bytes]
    assert backup.exists()


def test_a_busy_workspace_at_start_up_is_retried_by_itself(qapp, qtbot, tmp_path,
                                                           monkeypatch, quit_on_close):
    from opentrain_desk.app import main
    path, home = tmp_path / "agency.sqlite", tmp_path / "home"
    url = make_workspace(path)
    monkeypatch.setenv("OPENTRAIN_DESK_HOME", str(home))
    monkeypatch.setenv("OPENTRAIN_DESK_BUSY_TIMEOUT", "0.3")
    monkeypatch.setenv("OPENTRAIN_DESK_RETRY_INTERVAL", "1")
    holder = sqlite3.connect(path, isolation_level=None)  # another program, exclusively
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    shots: dict = {}

    def release(dialog) -> None:  # the other program lets go; nobody clicks anything
        assert dialog.findChild(QPushButton, "retryButton") is not None
        assert "Trying again in" in dialog.findChild(QLabel, "retryCountdownLabel").text()
        holder.close()  # lets go of every lock
    _answer_dialog(qtbot, monkeypatch, release, shots)
    started = time.monotonic()
    code = main(["--db", url, "--benchmark-startup"])
    assert code == 0
    assert "Another program" in shots["text"] and "has locked the workspace" in shots["text"]
    assert time.monotonic() - started < 20
    shots["dialog"].save(str(tmp_path / "busy.png"))
    assert job_titles(url) == ["Code review RLHF"]


def test_a_busy_workspace_without_a_screen_exits_75(tmp_path):
    path = tmp_path / "agency.sqlite"
    url = make_workspace(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('BEGIN EXCLUSIVE')\n"
         "print('held', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = run("--db", url, home=tmp_path / "home")
        assert time.monotonic() - started < 15
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    assert_refused(result, faults.EXIT_BUSY, "The workspace is busy", "Another program",
                   "Nothing was changed", "Retry")
    if shutil.which("lsof"):  # where the OS tells (Windows: the Restart Manager)
        assert f"(process {holder.pid})" in result.stderr
    assert job_titles(url) == ["Code review RLHF"]


# -- case 6: a read-only data folder and workspace file ----------------------------------
def _other_user() -> dict:
    """File permissions bind only a non-root user: as root, run the app as ``nobody``."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return {"user": 65534, "group": 65534, "extra_groups": []}
    return {}


@pytest.fixture(autouse=False)
def reachable_checkout():
    """As root the app runs as ``nobody``, who must be able to reach this checkout and its
    virtualenv: a clone in a private folder (``mktemp -d`` is 0700) is opened for traversal
    (search permission only) during the test, then closed again."""
    opened = []
    if _other_user():
        for folder in {*Path(sys.executable).parents, *ROOT.parents, ROOT}:
            mode = folder.stat().st_mode
            if folder.is_dir() and not mode & 0o001 and str(folder) != "/":
                folder.chmod(mode | 0o001)
                opened.append((folder, mode))
    yield
    for folder, mode in opened:
        folder.chmod(mode)


def test_a_read_only_data_folder_opens_read_only_and_logs_to_stderr(tmp_path,
                                                                   reachable_checkout):
    import stat
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="otd-ro-"))  # reachable by another user
    try:
        base.chmod(0o755)
        home = base / "home"
        home.mkdir()
        path = home / "workspace.sqlite"
        make_workspace(path)
        before = digest(path)
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        home.chmod(0o555)  # no logs/ or backups/ folder can be made in it either
        env = app_env(home, **FAST, USER="nobody", LOGNAME="nobody", HOME=str(base))
        result = subprocess.run([sys.executable, "-m", "opentrain_desk", "--benchmark-startup"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                                **_other_user())
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.splitlines()[-1])["rows"] == 1
        assert "logging to the terminal instead" in result.stderr
        assert "opened read-only" in result.stderr
        assert "Traceback" not in result.stderr
        assert digest(path) == before
        assert sorted(p.name for p in home.iterdir()) == ["workspace.sqlite"]
    finally:
        for each in [base, *base.rglob("*")]:
            each.chmod(0o755 if each.is_dir() else 0o644)
        shutil.rmtree(base, ignore_errors=True)


def test_a_read_only_folder_without_a_workspace_cannot_create_one(tmp_path,
                                                                 reachable_checkout):
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="otd-ro-"))
    try:
        base.chmod(0o755)
        folder = base / "shared"
        folder.mkdir(mode=0o555)
        env = app_env(base / "nohome", **FAST, USER="nobody", HOME=str(base))
        result = subprocess.run(
            [sys.executable, "-m", "opentrain_desk", "--db",
             f"sqlite:///{(folder / 'new.sqlite').as_posix()}"], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=60, **_other_user())
        assert_refused(result, faults.EXIT_NO_PERMISSION, "cannot be created",
                       "the folder is read-only")
        assert list(folder.iterdir()) == []
    finally:
        for each in [base, *base.rglob("*")]:
            each.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


# -- case 7 at start-up: the disk fills while the workspace is being upgraded ------------
def test_a_full_disk_at_start_up_says_so_and_changes_nothing(qapp, tmp_path, monkeypatch,
                                                             capsys):
    from alembic import command

    from opentrain_desk.app import main
    path = tmp_path / "agency.sqlite"
    url = f"sqlite:///{path.as_posix()}"
    engine = database.create_engine(url)
    with engine.begin() as conn:  # a workspace one version behind: it needs an upgrade
        command.upgrade(database._alembic_config(conn), "0004")
        conn.exec_driver_sql("INSERT INTO jobs (title, description, archived, created_at) "
                             "VALUES ('Code review RLHF', '', 0, '2026-03-01 10:00:00')")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    before = digest(path)
    real = database.create_engine

    def full_disk(url, read_only=False):  # SQLite's own SQLITE_FULL once the file must grow
        engine = real(url, read_only=read_only)

        @sa.event.listens_for(engine, "connect")
        def _full(dbapi_conn, _record) -> None:
            pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count={pages}")
        return engine
    monkeypatch.setattr(database, "create_engine", full_disk)
    monkeypatch.setenv("OPENTRAIN_DESK_HOME", str(tmp_path / "home"))
    code = main(["--db", url])
    err = capsys.readouterr().err
    assert code == faults.EXIT_DISK_FULL, err
    assert "The disk is full" in err and "Nothing was changed" in err
    assert "Traceback" not in err
    assert digest(path) == before


def test_a_silent_server_at_sign_in_is_said_in_the_sign_in_window(qapp, qtbot, tmp_path,
                                                                   monkeypatch,
                                                                   quit_on_close):
    """A team workspace asks for the member's password first (``hygiene/sign_in.py``): a
    server that keeps silent is said there, with everything typed kept; Cancel exits 0."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from opentrain_desk.app import main
    from opentrain_desk.hygiene import problem_dialog
    monkeypatch.setenv("OPENTRAIN_DESK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENTRAIN_DESK_CONNECT_TIMEOUT", "2")
    monkeypatch.setattr(problem_dialog, "interactive", lambda: True)
    server = SilentServer()
    seen: dict = {}

    def watch() -> None:
        dialog = next((w for w in QApplication.topLevelWidgets()
                       if w.objectName() == "signInDialog" and w.isVisible()), None)
        if dialog is not None and "clicked" not in seen:
            seen["clicked"] = True
            dialog.password.setText("typed-password-1")
            dialog.submit.click()
        elif dialog is not None and "Cannot reach" in dialog.error.text():
            seen["text"], seen["kept"] = dialog.error.text(), dialog.password.text()
            dialog.reject()
            return
        QTimer.singleShot(50, watch)
    QTimer.singleShot(0, watch)
    try:
        code = main(["--db", f"postgresql+psycopg://agency@127.0.0.1:{server.port}/books"])
    finally:
        server.close()
    assert code == 0
    assert seen["text"] == (f"Cannot reach the server 127.0.0.1:{server.port} (it did not "
                            "answer within 2 seconds).")
    assert seen["kept"] == "typed-password-1"


def test_open_another_workspace_from_the_problem_dialog(qapp, qtbot, tmp_path, monkeypatch,
                                                        quit_on_close, capsys):
    from PySide6.QtWidgets import QFileDialog

    from opentrain_desk.app import main
    home = tmp_path / "home"
    monkeypatch.setenv("OPENTRAIN_DESK_HOME", str(home))
    broken, other = tmp_path / "broken.sqlite", tmp_path / "other.sqlite"
    make_workspace(broken)
    make_workspace(other, titles=("Other job", "Second job"))
    _random_header(broken)
    before = digest(broken)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(other), "")))
    shots: dict = {}
    _answer_dialog(qtbot, monkeypatch, lambda d: d.findChild(
        QPushButton, "openOtherWorkspaceButton").click(), shots)
    code = main(["--db", f"sqlite:///{broken.as_posix()}", "--benchmark-startup"])
    assert code == 0
    assert "no backup of this workspace" in shots["text"]
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["rows"] == 2  # the jobs of other.sqlite
    assert digest(broken) == before
    logged = (home / "logs" / "opentrain-desk.log").read_text(encoding="utf-8")
    assert "started OpenTrain Desk" in logged
