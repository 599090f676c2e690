"""App hygiene: self-check, restore, daily backups, single instance, crash dialog, About,
palettes. Real SQLite files, real subprocesses where the behaviour is about processes."""
from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import QApplication, QDialog, QPushButton

from opentrain_desk import __version__
from opentrain_desk.app import build_window, close_window, main
from opentrain_desk.hygiene import selfcheck
from opentrain_desk.hygiene.backups import KEEP_BACKUPS, daily_backup, list_backups
from opentrain_desk.hygiene.crash import CrashHandler
from opentrain_desk.hygiene.instance import SingleInstanceGuard, lock_path, server_name
from opentrain_desk.hygiene.logs import install_file_logging
from opentrain_desk.hygiene.palette import DARK_QSS, apply_theme, build_palette, detect_scheme
from opentrain_desk.hygiene.startup import DemoWindows, schedule_daily_backup
from opentrain_desk.persistence import database
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.services import jobs

ROOT = Path(__file__).resolve().parents[2]
LIVE_KEY = "sk_live_51HqL2bCdEfGhIjKlMnOpQrStUv"
OK_LINE = re.compile(
    r"self-check ok: migrations (\w+), \d+ demo jobs, pdf \d+ KB, keyring [\w.]+, qt \w+, "
    r"stripe [\d.]+, postgres [^,]+ \(\d+\.\d s\)")


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """A child app process: headless, its own home, and never the developer's keyring."""
    return dict(os.environ, OPENTRAIN_DESK_HOME=str(home), QT_QPA_PLATFORM="offscreen",
                PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", **extra)


def run_app(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opentrain_desk", *args], cwd=ROOT,
                          env=app_env(home), capture_output=True, text=True, timeout=timeout)


def job_titles(url: str) -> list[str]:
    engine = database.create_engine(url)
    try:
        return sorted(row.title for row in Queries(engine).list_jobs())
    finally:
        engine.dispose()


# -- self-check --------------------------------------------------------------------------
def test_self_check_in_process(qapp, memory_keyring):
    out = io.StringIO()
    assert selfcheck.run_self_check(out) == 0
    line = out.getvalue()
    assert line.count("\n") == 1, line
    match = OK_LINE.fullmatch(line.strip())
    assert match, line
    assert match.group(1) == database.head_revision()
    assert "keyring tests.conftest.MemoryKeyring" in line
    assert memory_keyring.entries == {}  # the backend was named, no secret touched


def test_self_check_failure_is_one_redacted_line(qapp, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OSError(f"disk full while signing with {LIVE_KEY}")
    monkeypatch.setattr("opentrain_desk.reports.invoice_pdf.write_invoice_pdf", broken)
    out = io.StringIO()
    assert selfcheck.run_self_check(out) == 1
    assert out.getvalue() == ("self-check failed: pdf: OSError: disk full while signing with "
                              "sk_live_[REDACTED]\n")


def test_self_check_command_prints_one_line_and_touches_nothing(tmp_path):
    home = tmp_path / "home"
    result = run_app("--self-check", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and OK_LINE.fullmatch(lines[0]), result.stdout
    assert "keyring keyring.backends.null.Keyring" in lines[0]
    assert not home.exists()


# -- backups and restore -----------------------------------------------------------------
def test_restore_round_trip_keeps_a_safety_copy(settings, factory, capsys):
    jobs.create_job(factory(), "Before the backup")
    backup = database.backup_sqlite(factory.engine, settings.backup_dir, reason="manual")
    jobs.create_job(factory(), "After the backup")
    factory.engine.dispose()

    assert main(["--db", settings.db_url, "--restore", str(backup)]) == 0

    assert job_titles(settings.db_url) == ["Before the backup"]
    assert "Restored" in capsys.readouterr().out
    safety = [p for p in list_backups(settings.backup_dir, "workspace") if "pre-restore" in p.name]
    assert len(safety) == 1
    assert job_titles(f"sqlite:///{safety[0].as_posix()}") == ["After the backup",
                                                              "Before the backup"]
    database_file = Path(settings.db_url.removeprefix("sqlite:///"))
    assert not database_file.with_name(database_file.name + "-wal").exists()
    assert sorted(p.name for p in backup.parent.iterdir() if p.name.startswith(backup.name)) \
        == [backup.name]  # reading the backup left no -wal/-shm beside it
    with closing(sqlite3.connect(database_file)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_restore_is_refused_while_the_app_runs_on_the_workspace(qapp, settings, factory,
                                                                capsys):
    jobs.create_job(factory(), "Live data")
    backup = database.backup_sqlite(factory.engine, settings.backup_dir, reason="manual")
    jobs.create_job(factory(), "Newer live data")
    factory.engine.dispose()
    running = SingleInstanceGuard(settings)
    assert running.acquire(listen=False)
    try:
        assert main(["--db", settings.db_url, "--restore", str(backup)]) == 1
    finally:
        running.release()
    assert "close it first" in capsys.readouterr().err
    assert job_titles(settings.db_url) == ["Live data", "Newer live data"]


def test_restore_rejects_a_file_that_is_not_a_backup(settings, factory, tmp_path, capsys):
    jobs.create_job(factory(), "Keep me")
    factory.engine.dispose()
    junk = tmp_path / "notes.sqlite"
    junk.write_bytes(b"definitely not SQLite" * 100)
    assert main(["--db", settings.db_url, "--restore", str(junk)]) == 1
    assert "not an OpenTrain Desk workspace backup" in capsys.readouterr().err
    assert job_titles(settings.db_url) == ["Keep me"]


def test_daily_backup_once_a_day_keeping_the_newest_n(settings, factory):
    engine, folder = factory.engine, settings.backup_dir
    now = datetime.now(timezone.utc)
    first = daily_backup(engine, folder, now=now)
    assert first is not None and first.name.endswith("-daily.sqlite")
    assert daily_backup(engine, folder, now=now + timedelta(hours=23)) is None
    made = [daily_backup(engine, folder, now=now + timedelta(days=day))
            for day in range(1, KEEP_BACKUPS + 3)]
    assert all(made)
    kept = list_backups(folder, "workspace")
    assert len(kept) == KEEP_BACKUPS and kept[-1] == made[-1] and first not in kept


def test_backups_of_other_workspaces_are_not_listed(tmp_path):
    for name in ("demo-20260101T000000000001Z-daily.sqlite",
                 "demo-sandbox-20260102T000000000001Z-daily.sqlite", "demo-notes.sqlite"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_backups(tmp_path, "demo")] == [
        "demo-20260101T000000000001Z-daily.sqlite"]



def test_pruning_keeps_other_workspaces_backups(tmp_path):
    """``demo`` keeps its newest N; the ``demo-sandbox`` backups beside them are not its own."""
    others = [tmp_path / f"demo-sandbox-2026010{d}T000000000001Z-daily.sqlite" for d in (1, 2)]
    for other in others:
        other.write_bytes(b"")
    engine = database.create_engine(f"sqlite:///{(tmp_path / 'demo.sqlite').as_posix()}")
    database.migrate(engine)
    made = [database.backup_sqlite(engine, tmp_path, reason=f"r{i}")
            for i in range(KEEP_BACKUPS + 2)]
    engine.dispose()
    assert all(other.exists() for other in others)
    assert list_backups(tmp_path, "demo") == made[-KEEP_BACKUPS:]


# -- single instance ---------------------------------------------------------------------
def test_guard_is_per_workspace_and_wakes_the_first(qapp, qtbot, settings, tmp_path):
    first = SingleInstanceGuard(settings)
    assert first.acquire()
    try:
        assert first.path.name == "workspace.sqlite.lock" and first.path.exists()
        refused = SingleInstanceGuard(settings)
        assert not refused.acquire(notify=False)
        assert "running on this workspace" in refused.message
        other = SingleInstanceGuard(replace(settings, db_url=f"sqlite:///{tmp_path}/b.sqlite"))
        assert other.acquire(listen=False)
        other.release()
        with qtbot.waitSignal(first.activationRequested, timeout=5000):
            second = SingleInstanceGuard(settings)
            assert not second.acquire()
        assert "switched to that window" in second.message
    finally:
        first.release()
    assert SingleInstanceGuard(settings).acquire(listen=False)  # released: free again


def test_shared_database_urls_lock_per_user_and_hide_passwords(settings):
    url = "postgresql+psycopg://agency:s3cret@db.example/books"
    pg = replace(settings, db_url=url)
    assert lock_path(pg).parent == settings.home / "locks"
    assert server_name(url) == server_name(url.replace("s3cret", "other"))
    assert "s3cret" not in str(lock_path(pg))


def test_second_launch_focuses_the_first_and_exits(tmp_path):
    home, url = tmp_path / "home", f"sqlite:///{(tmp_path / 'team.sqlite').as_posix()}"
    log_file = home / "logs" / "opentrain-desk.log"
    first = subprocess.Popen([sys.executable, "-m", "opentrain_desk", "--db", url], cwd=ROOT,
                             env=app_env(home), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while "started OpenTrain Desk" not in (log_file.read_text(encoding="utf-8")
                                               if log_file.exists() else ""):
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() < deadline, "first instance did not start"
            time.sleep(0.05)
        started = time.monotonic()
        second = run_app("--db", url, home=home, timeout=30)
        assert time.monotonic() - started < 10
        assert second.returncode == 0, second.stderr
        assert "already running on this workspace" in second.stdout
        assert "switched to that window" in second.stdout
        deadline = time.monotonic() + 5
        while "asked to come to the front" not in log_file.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "first instance was not asked to show itself"
            time.sleep(0.05)
        assert log_file.read_text(encoding="utf-8").count("started OpenTrain Desk") == 1
    finally:
        first.kill()
        first.wait(timeout=10)
        first.stderr.close()


# -- crash dialog ------------------------------------------------------------------------
@pytest.mark.qt_no_exception_capture
def test_unhandled_errors_open_one_redacted_crash_dialog(qtbot, qapp, tmp_path):
    handler = CrashHandler(tmp_path / "logs").install()
    log_handler = install_file_logging(tmp_path / "logs")
    try:
        def boom() -> None:
            raise RuntimeError(f"Stripe refused {LIVE_KEY} (client_secret=pi_9_secret_zz)")

        QTimer.singleShot(0, boom)  # raised in a Qt slot, like a real bug
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible())
        dialog = handler.dialog
        assert dialog.objectName() == "crashDialog"
        report = dialog.report()
        for expected in (f"OpenTrain Desk {__version__}", "Python ", "Qt ", "Platform ",
                         "RuntimeError: Stripe refused sk_live_[REDACTED]", "in boom"):
            assert expected in report, expected
        assert LIVE_KEY not in report and "pi_9_secret_zz" not in report

        worker = threading.Thread(target=boom, name="otd-worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: "another error" in dialog.report())
        assert "Thread otd-worker" in dialog.report()
        assert qapp.topLevelWidgets().count(dialog) == 1

        dialog.findChild(QPushButton, "copyReportButton").click()
        copied = QGuiApplication.clipboard().text()
        assert copied == dialog.report() and LIVE_KEY not in copied
        log_handler.flush()
        logged = (tmp_path / "logs" / "opentrain-desk.log").read_text(encoding="utf-8")
        assert "unhandled exception" in logged and "Traceback" in logged
        assert LIVE_KEY not in logged and "pi_9_secret_zz" not in logged
        dialog.findChild(QPushButton, "closeCrashButton").click()
        qtbot.waitUntil(lambda: handler.dialog is None)
    finally:
        handler.uninstall()
        import logging
        logging.getLogger().removeHandler(log_handler)
        log_handler.close()
    assert sys.excepthook is not handler.excepthook


# -- window: About, daily backup ---------------------------------------------------------
@pytest.fixture
def window(qtbot, settings):
    win = build_window(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.ctx.db.pending == 0)
    yield win
    close_window(win)


def test_about_dialog_lists_versions_and_licences(qtbot, window):
    window.findChild(QAction, "actionAbout").trigger()
    qtbot.waitUntil(lambda: (d := window.findChild(QDialog, "aboutDialog")) is not None
                    and d.isVisible())
    dialog = window.findChild(QDialog, "aboutDialog")
    assert __version__ in dialog.version_text() and "Qt 6." in dialog.version_text()
    text = dialog.licences.toPlainText()
    for expected in ("PySide6", "LGPL-3.0", "SQLAlchemy", "Alembic", "stripe", "ReportLab",
                     "BSD", "keyring", "platformdirs", "MIT", "DejaVu", "localstripe",
                     "not bundled"):
        assert expected in text, expected
    dialog.reject()


def test_daily_backup_runs_on_the_database_thread(qtbot, window, settings):
    schedule_daily_backup(window, settings)
    qtbot.waitUntil(lambda: window.ctx.db.pending == 0)
    assert [p.name.endswith("-daily.sqlite")
            for p in list_backups(settings.backup_dir, "workspace")] == [True]


def test_open_demo_keeps_one_demo_window_holding_the_demo_lock(qtbot, window, settings):
    demos = DemoWindows(settings, build_window, QApplication.instance())
    demos.main_window = window
    try:
        demos.open()
        assert len(demos.windows) == 1
        qtbot.addWidget(demos.windows[0])
        assert demos.windows[0].isVisible() and "Demo" in demos.windows[0].windowTitle()
        demos.open()  # again: the same window comes to the front
        assert len(demos.windows) == 1
        assert demos.guard.path.name == "demo.sqlite.lock"
        other = SingleInstanceGuard(replace(settings, demo=True, db_url=None))
        assert not other.acquire(notify=False)
    finally:
        for each in demos.windows:
            close_window(each)
        demos.release()


def test_a_workspace_that_cannot_be_opened_fails_with_a_report(tmp_path):
    """An error nobody foresaw (here: a schema that says 0001 but has no tables, so the
    migration fails) still ends in the crash report, exit 1. Foreseen ones (a folder given
    as the workspace, damaged files, …) have their own messages: tests/integration/
    test_faults.py."""
    odd = tmp_path / "workspace.sqlite"
    with closing(sqlite3.connect(odd)) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('0001')")
        conn.commit()
    home = tmp_path / "home"
    result = run_app("--db", f"sqlite:///{odd.as_posix()}", home=home)
    assert result.returncode == 1
    assert f"OpenTrain Desk {__version__}" in result.stderr and "Traceback" in result.stderr
    logged = (home / "logs" / "opentrain-desk.log").read_text(encoding="utf-8")
    assert "start-up failed" in logged


def test_a_folder_given_as_the_workspace_is_refused_plainly(tmp_path):
    not_a_file = tmp_path / "workspace.sqlite"
    not_a_file.mkdir()
    result = run_app("--db", f"sqlite:///{not_a_file.as_posix()}", home=tmp_path / "home")
    assert result.returncode == 66
    assert "is a folder" in result.stderr and "Traceback" not in result.stderr


# -- palettes ----------------------------------------------------------------------------
def _contrast(a, b) -> float:
    def lum(colour):
        def channel(c):
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        return (0.2126 * channel(colour.red()) + 0.7152 * channel(colour.green())
                + 0.0722 * channel(colour.blue()))
    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_palettes_are_readable(scheme):
    palette, role = build_palette(scheme), QPalette.ColorRole
    assert _contrast(palette.color(role.Text), palette.color(role.Base)) >= 7
    assert _contrast(palette.color(role.WindowText), palette.color(role.Window)) >= 7
    assert _contrast(palette.color(role.ButtonText), palette.color(role.Button)) >= 7
    assert _contrast(palette.color(role.HighlightedText), palette.color(role.Highlight)) >= 3
    assert _contrast(palette.color(role.PlaceholderText), palette.color(role.Base)) >= 4.5


def test_theme_follows_the_scheme_and_restyles(qapp, monkeypatch):
    saved = (qapp.style().name(), QPalette(qapp.palette()), qapp.styleSheet())
    controller = None
    try:
        monkeypatch.setenv("OPENTRAIN_DESK_THEME", "dark")
        controller = apply_theme(qapp)
        assert controller.scheme == "dark"
        assert 'QLabel[role="hint"]' in qapp.styleSheet() and DARK_QSS in qapp.styleSheet()
        if not controller.native:
            assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 64
        monkeypatch.setenv("OPENTRAIN_DESK_THEME", "light")
        assert controller.apply() == "light" and DARK_QSS not in qapp.styleSheet()
        monkeypatch.delenv("OPENTRAIN_DESK_THEME")
        if not hasattr(qapp.styleHints(), "colorScheme") or \
                qapp.styleHints().colorScheme().name == "Unknown":
            assert detect_scheme(qapp, build_palette("dark")) == "dark"
    finally:
        if controller is not None:
            controller.setParent(None)
        qapp.setStyle(saved[0])
        qapp.setPalette(saved[1])
        qapp.setStyleSheet(saved[2])


# -- the hidden start-up probe (used by the frozen build test and the benchmark) ----------
def test_screenshot_mode_grabs_the_demo_workspace(tmp_path):
    shot = tmp_path / "main.png"
    result = run_app("--demo", "--screenshot", str(shot), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["rows"] >= 1 and report["main_ms"] > 0
    image = QImage(str(shot))
    assert image.width() >= 800 and image.height() >= 500
