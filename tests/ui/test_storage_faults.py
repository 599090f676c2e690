"""Issue 14, cases 5 and 7 while the app runs: a workspace locked by another program and a
full disk, met by a real main window saving through its dialogs."""
from __future__ import annotations

import socket
import sqlite3
import threading
from contextlib import closing

import pytest
import shiboken6
import sqlalchemy as sa
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton

from opentrain_desk.app import close_window
from opentrain_desk.persistence.queries import Queries
from tests.conftest import at_head
from tests.ui.conftest import click, closed, find, idle, open_window, submit, type_into


@pytest.fixture
def fast_window(qtbot, qapp, settings, monkeypatch, _head_workspace):
    monkeypatch.setenv("OPENTRAIN_DESK_BUSY_TIMEOUT", "0.3")
    monkeypatch.setenv("OPENTRAIN_DESK_RETRY_INTERVAL", "0.3")
    at_head(settings.db_url, _head_workspace)
    win = open_window(qtbot, settings)
    yield win
    close_window(win)


def titles(window) -> list[str]:
    return [row.title for row in Queries(window.ctx.uow.engine).list_jobs()]


def _open_dialog(window):
    found = [d for d in window.findChildren(QDialog, "newJobDialog")
             if shiboken6.isValid(d) and d.isVisible()]
    return found[0] if found else None


def new_job_dialog(qtbot, window, title: str):
    window.action_new_job.trigger()
    qtbot.waitUntil(lambda: _open_dialog(window) is not None)
    dialog = _open_dialog(window)
    type_into(qtbot, find(dialog, QLineEdit, "jobTitleEdit"), title)
    submit(qtbot, dialog)
    return dialog


def hold_lock(settings) -> sqlite3.Connection:
    """Another program holding a write lock on the workspace file."""
    path = sa.engine.make_url(settings.db_url).database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return other


# -- case 5 --------------------------------------------------------------------------------
def test_a_locked_workspace_shows_a_banner_keeps_input_and_saves_by_itself(
        qtbot, fast_window, settings):
    window = fast_window
    banner = window.storage_banner
    other = hold_lock(settings)
    try:
        dialog = new_job_dialog(qtbot, window, "Saved once the lock is gone")
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        text = find(banner, QLabel, "storageBannerLabel").text()
        assert "busy" in text and "another program" in text and "kept" in text
        assert "OperationalError" not in text
        assert dialog.isVisible()  # still open, what was typed still there
        assert find(dialog, QLineEdit, "jobTitleEdit").text() == "Saved once the lock is gone"
        qtbot.wait(700)  # a few retries meet the lock again; nothing is shown twice
        assert dialog.isVisible() and window.ctx.db.pending
    finally:
        other.rollback()
        other.close()
    qtbot.waitUntil(lambda: closed(dialog), timeout=5000)  # saved by itself
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5000)
    idle(qtbot, window)
    assert titles(window) == ["Saved once the lock is gone"]


def test_the_busy_banner_names_the_program_holding_the_lock(qtbot, fast_window, settings):
    import shutil
    import subprocess
    import sys
    window, banner = fast_window, fast_window.storage_banner
    path = sa.engine.make_url(settings.db_url).database
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], "
         "isolation_level=None); c.execute('BEGIN EXCLUSIVE'); print('ready', flush=True); "
         "sys.stdin.read()", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        new_job_dialog(qtbot, window, "Waits for the other program")
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        label = find(banner, QLabel, "storageBannerLabel")
        if shutil.which("lsof"):  # where the OS tells
            qtbot.waitUntil(lambda: f"(process {holder.pid})" in label.text(), timeout=8000)
        assert "busy" in label.text()
    finally:
        holder.stdin.close()
        holder.wait(10)
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=8000)
    idle(qtbot, window)
    assert titles(window) == ["Waits for the other program"]


def test_stop_waiting_gives_up_with_the_input_kept_and_nothing_saved(qtbot, fast_window,
                                                                     settings):
    window = fast_window
    banner = window.storage_banner
    with closing(hold_lock(settings)) as other:
        dialog = new_job_dialog(qtbot, window, "Not now")
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        click(qtbot, find(banner, QPushButton, "cancelRetryButton"))
        error = find(dialog, QLabel, "formErrorLabel")
        qtbot.waitUntil(error.isVisible, timeout=3000)
        assert "still locked by another program" in error.text()
        assert find(dialog, QLineEdit, "jobTitleEdit").text() == "Not now"
        assert not banner.isVisible()
        other.rollback()
    idle(qtbot, window)
    assert titles(window) == []
    submit(qtbot, dialog)  # the user tries again once the other program let go
    qtbot.waitUntil(lambda: closed(dialog), timeout=5000)
    idle(qtbot, window)
    assert titles(window) == ["Not now"]


# -- case 7 --------------------------------------------------------------------------------
def test_a_full_disk_says_so_keeps_input_and_loses_nothing(qtbot, fast_window, settings):
    window = fast_window
    engine = window.ctx.uow.engine
    new_job_dialog(qtbot, window, "Before the disk filled")
    qtbot.waitUntil(lambda: titles(window) == ["Before the disk filled"], timeout=5000)

    def full(dbapi_conn, _record) -> None:  # SQLite's own SQLITE_FULL, as on a full disk
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")
    idle(qtbot, window)
    engine.dispose()
    sa.event.listen(engine, "connect", full)
    try:
        dialog = new_job_dialog(qtbot, window, "x" * 190)
        error = find(dialog, QLabel, "formErrorLabel")
        for _ in range(40):  # fill the last free pages, until the disk is "full"
            qtbot.waitUntil(lambda d=dialog, e=error: closed(d) or e.isVisible(),
                            timeout=5000)
            if not closed(dialog):
                break
            dialog = new_job_dialog(qtbot, window, "x" * 190)
            error = find(dialog, QLabel, "formErrorLabel")
        assert not closed(dialog), "the database never filled up"
        assert "disk holding the workspace is full" in error.text(), error.text()
        assert "not saved" in error.text() and "log" not in error.text()
        assert find(dialog, QLineEdit, "jobTitleEdit").text() == "x" * 190
    finally:
        sa.event.remove(engine, "connect", full)
    idle(qtbot, window)
    engine.dispose()  # space was freed
    assert "Before the disk filled" in titles(window)
    with closing(sqlite3.connect(sa.engine.make_url(settings.db_url).database)) as check:
        assert check.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    count = len(titles(window))
    submit(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog), timeout=5000)
    idle(qtbot, window)
    assert len(titles(window)) == count + 1


# -- case 6 --------------------------------------------------------------------------------
def test_a_read_only_workspace_opens_with_a_banner_and_refuses_changes_plainly(
        qtbot, qapp, settings, monkeypatch):
    from opentrain_desk.hygiene import banner, faults
    from opentrain_desk.persistence import database
    from opentrain_desk.services import jobs
    from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
    path = sa.engine.make_url(settings.db_url).database
    engine = database.create_engine(settings.db_url)
    database.migrate(engine)
    with UnitOfWorkFactory(engine, "owner")() as uow:
        jobs.create_job(uow, "Existing job")
        uow.commit()
    engine.dispose()
    # what os.access answers for a user without write permission (root always may write)
    monkeypatch.setattr(faults, "writable", lambda p: str(p) != path)
    window = open_window(qtbot, settings)
    try:
        assert window.workspace.read_only
        strip = window.storage_banner
        assert strip.isVisible()
        assert find(strip, QLabel, "storageBannerLabel").text() == banner.READ_ONLY_TEXT
        assert titles(window) == ["Existing job"]
        qtbot.wait(600)  # the payment worker would have started by now: it is paused
        assert not window.ctx.sync._timer.isActive()
        dialog = new_job_dialog(qtbot, window, "Cannot be saved")
        error = find(dialog, QLabel, "formErrorLabel")
        qtbot.waitUntil(error.isVisible, timeout=5000)
        assert "read-only" in error.text() and "not saved" in error.text()
        assert find(dialog, QLineEdit, "jobTitleEdit").text() == "Cannot be saved"
        assert strip.isVisible()
        idle(qtbot, window)
        assert titles(window) == ["Existing job"]
    finally:
        close_window(window)


# -- case 8 while running: the PostgreSQL connection drops and comes back ----------------
class Proxy:
    """127.0.0.1 TCP proxy to the test PostgreSQL server that can be cut and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.pairs: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self.pairs += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for each in (src, dst):
                try:
                    each.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """The network goes away: open connections drop, new ones are refused."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
        except OSError:
            pass
        self.listener.close()
        for each in self.pairs:
            try:
                each.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            each.close()
        self.pairs.clear()


def test_a_lost_server_connection_shows_a_banner_keeps_input_and_recovers(
        qtbot, qapp, tmp_path, postgres_url, monkeypatch):
    from opentrain_desk.config import Settings
    monkeypatch.setenv("OPENTRAIN_DESK_RETRY_INTERVAL", "0.5")
    monkeypatch.setenv("OPENTRAIN_DESK_CONNECT_TIMEOUT", "2")
    url = sa.engine.make_url(postgres_url)
    proxy = Proxy((url.host, url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port)
    settings = Settings(home=tmp_path / "home",
                        db_url=proxied.render_as_string(hide_password=False), actor="tester")
    window = open_window(qtbot, settings)
    try:
        strip = window.storage_banner
        proxy.cut()
        dialog = new_job_dialog(qtbot, window, "Typed while offline")
        error = find(dialog, QLabel, "formErrorLabel")
        qtbot.waitUntil(error.isVisible, timeout=15000)
        assert "connection to the workspace server was lost" in error.text()
        assert "Traceback" not in error.text() and "OperationalError" not in error.text()
        assert find(dialog, QLineEdit, "jobTitleEdit").text() == "Typed while offline"
        qtbot.waitUntil(strip.isVisible, timeout=5000)
        assert "reconnects by itself" in find(strip, QLabel, "storageBannerLabel").text()
        proxy.restore()
        qtbot.waitUntil(lambda: not strip.isVisible(), timeout=15000)  # reconnected
        submit(qtbot, dialog)
        qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
        idle(qtbot, window)
        assert titles(window) == ["Typed while offline"]
    finally:
        close_window(window)
        proxy.cut()
