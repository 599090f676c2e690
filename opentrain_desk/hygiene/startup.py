"""Start-up helpers for ``app.main``: restore command, daily backup, hidden probe modes."""
from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from ..config import Settings

__all__ = ["DemoWindows", "ReadyProbe", "application", "restore_command", "sandbox_available",
           "schedule_daily_backup"]


def sandbox_available() -> bool:
    """The Stripe emulator (localstripe, GPL) is a developer tool, absent from the build."""
    return importlib.util.find_spec("localstripe") is not None


def application(version: str):
    """The QApplication, named and with the app icon (every size, for high-DPI screens)."""
    from PySide6.QtWidgets import QApplication

    from ..config import APP_NAME
    from .icons import app_icon
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("OpenTrain")
    app.setApplicationVersion(version)
    app.setWindowIcon(app_icon())
    return app


class DemoWindows:
    """File → Open demo workspace: one demo window, holding the demo workspace's lock."""

    def __init__(self, settings: Settings, build_window, app) -> None:
        self.settings, self.build_window, self.app = settings, build_window, app
        self.main_window = None
        self.windows: list = []
        self.guard = None

    def open(self) -> None:
        import shiboken6

        from .instance import SingleInstanceGuard, bring_to_front
        for window in self.windows:
            if shiboken6.isValid(window) and window.isVisible():
                bring_to_front(window)
                return
        demo_settings = replace(self.settings, demo=True, db_url=None)
        if self.guard is None:
            guard = SingleInstanceGuard(demo_settings, self.app)
            if not guard.acquire():  # another process has the demo open: it was raised
                self.main_window.show_error(guard.message)
                return
            guard.activationRequested.connect(lambda: bring_to_front(self.windows[-1]))
            self.guard = guard
        window = self.build_window(demo_settings,
                                   sandbox_server=self.main_window.workspace.sandbox)
        self.windows.append(window)
        window.show()

    def release(self) -> None:
        if self.guard is not None:
            self.guard.release()


def restore_command(settings: Settings, backup: Path) -> int:
    """``--restore BACKUP``: replace the selected SQLite workspace; the app must be closed."""
    from .backups import RestoreError, restore
    from .instance import SingleInstanceGuard

    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        print("--restore works on SQLite workspaces; restore a PostgreSQL workspace with "
              "its own tools (pg_restore).", file=sys.stderr)
        return 2
    guard = SingleInstanceGuard(settings)
    if not guard.acquire(listen=False, notify=False):
        print(f"Not restored: {guard.message}", file=sys.stderr)
        return 1
    try:
        safety = restore(backup, Path(url.database), settings.backup_dir)
    except RestoreError as error:
        print(f"Not restored: {error}", file=sys.stderr)
        return 1
    finally:
        guard.release()
    saved = f"; the previous state was saved as {safety}" if safety else ""
    print(f"Restored {url.database} from {backup}{saved}.", flush=True)
    return 0


def schedule_daily_backup(window, settings: Settings) -> None:
    """On the database thread, queued behind the first page of jobs."""
    from .backups import daily_backup
    engine = window.workspace.engine
    window.ctx.runner.run(lambda: daily_backup(engine, settings.backup_dir))


class ReadyProbe:
    """Hidden modes ``--benchmark-startup`` / ``--screenshot PATH``.

    Once the main window shows its first page of jobs, prints one JSON line
    (``shown_epoch``: wall-clock time, for a parent process that noted when it started
    this one; ``main_ms``: since ``main()`` began), optionally selects the first job and
    grabs the window to PATH once the database thread is idle, then quits the app.
    ``exit_code`` is 0, or 3 (timed out) / 4 (image not saved).
    """

    def __init__(self, app, window, screenshot: str | None, started: float,
                 timeout_s: float = 60.0) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.window, self.screenshot, self.started = app, window, screenshot, started
        self.deadline = time.monotonic() + timeout_s
        self.shown: float | None = None
        self.exit_code: int | None = None
        self.timer = QTimer(window, interval=10)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _finish(self, code: int) -> None:
        from PySide6.QtCore import QTimer
        self.timer.stop()
        self.exit_code = code
        QTimer.singleShot(0, self.app.quit)

    def _poll(self) -> None:
        if time.monotonic() > self.deadline:
            print("start-up did not finish: no first page of jobs", file=sys.stderr)
            self._finish(3)
        elif self.shown is None:
            self._first_page()
        elif not self.window.ctx.runner.pending and time.time() - self.shown > 0.3:
            saved = self.window.grab().save(self.screenshot)
            self._finish(0 if saved else 4)

    def _first_page(self) -> None:
        page = self.window.jobs_page
        model = page.model
        if model.rowCount() == 0 and (model.is_loading or model.total):
            return
        self.shown = time.time()
        print(json.dumps({"shown_epoch": self.shown, "rows": model.rowCount(),
                          "main_ms": round((time.perf_counter() - self.started) * 1000, 1)}),
              flush=True)
        if not self.screenshot:
            self._finish(0)
        elif model.rowCount():
            page.table.selectRow(0)  # a job with its contracts makes a telling picture
