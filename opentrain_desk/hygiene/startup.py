"""Start-up helpers for ``app.main``: restore command, daily backup, hidden probe modes."""
from __future__ import annotations

import importlib.util
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..config import Settings
from .faults import Problem

__all__ = ["DemoWindows", "ReadyProbe", "WindowOpener", "application", "report_problem",
           "restore_command", "sandbox_available", "schedule_daily_backup"]

log = logging.getLogger(__name__)


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
        try:
            window = self.build_window(demo_settings,
                                       sandbox_server=self.main_window.workspace.sandbox)
        except Problem as problem:  # e.g. a damaged demo file: said, not a crash dialog
            report_problem(problem)
            self.main_window.show_error(f"{problem.title}: {problem.what}")
            return
        self.windows.append(window)
        window.show()

    def release(self) -> None:
        if self.guard is not None:
            self.guard.release()


def restore_command(settings: Settings, backup: Path) -> int:
    """``--restore BACKUP``: replace the selected SQLite workspace; the app must be closed."""
    from .backups import RestoreError, restore
    from .instance import SingleInstanceGuard

    from sqlalchemy.engine import make_url
    url = make_url(settings.database_url)
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
    """On the database thread, queued behind the first page of jobs; a failure (a full
    disk, a read-only backup folder) is said plainly in the status bar."""
    from .backups import daily_backup
    engine = window.workspace.engine

    def failed(error: BaseException) -> None:
        from .faults import runtime_kind
        why = {"disk-full": "the disk is full",
               "read-only": "the backup folder is read-only"}.get(runtime_kind(error) or "",
                                                                  "see the log")
        window.show_error(f"Today's backup could not be written to {settings.backup_dir} "
                          f"({why}). Your workspace itself is fine.")
    window.ctx.db.run(window, lambda: daily_backup(engine, settings.backup_dir),
                      on_error=failed)


def report_problem(problem: Problem) -> None:
    """The message to stderr and the log; the traceback to the log file only."""
    log.error("%s", problem.report())
    if problem.__cause__ is not None:
        log.info("details of the problem above", exc_info=problem.__cause__)
    print(problem.report(), file=sys.stderr, flush=True)


def connect_first(settings: Settings, password: str | None = None) -> None:
    """A server workspace: connect once on a helper thread while a small window says where
    to (``connectingDialog``, with Cancel), so a slow or silent server never leaves the
    user with nothing on screen. Raises the :class:`Problem` a failure stands for."""
    import threading

    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtWidgets import QApplication, QProgressDialog

    from sqlalchemy.engine import make_url

    from ..persistence import database
    from . import faults
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" or QApplication.instance() is None:
        return
    outcome: dict = {}

    def attempt() -> None:
        engine = database.create_engine(url if password is None else url.set(password=password))
        try:
            with engine.connect():
                pass
        except Exception as error:  # noqa: BLE001 - classified on the GUI thread
            outcome["error"] = error
        finally:
            engine.dispose()
    worker = threading.Thread(target=attempt, name="otd-connect", daemon=True)
    worker.start()
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    dialog = QProgressDialog(f"Connecting to the workspace server {where}…", "Cancel", 0, 0)
    dialog.setObjectName("connectingDialog")
    dialog.setWindowTitle("OpenTrain Desk")
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(0)
    dialog.hide()
    started = time.monotonic()
    try:
        while worker.is_alive() and not dialog.wasCanceled():
            if not dialog.isVisible() and time.monotonic() - started > 0.3:
                dialog.show()  # only when it takes long enough to notice
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            worker.join(0.02)
    finally:
        dialog.close()
        dialog.deleteLater()
    if worker.is_alive():  # cancelled: the attempt ends by its own timeout
        raise faults.unreachable(url, "you cancelled the connection attempt")
    if "error" in outcome:
        problem = faults.classify(outcome["error"], where=faults.safe_url(url), url=url)
        if problem is None:
            raise outcome["error"]
        raise problem from outcome["error"]


def on_first_paint(window, callback):
    """Call ``callback()`` once ``window``'s first paint is done (the whole of it: queued
    behind the paint event). Returns the event filter; keep it alive until then."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        seen = False

        def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint and not self.seen:
                self.seen = True
                QTimer.singleShot(0, callback)
            return False
    watcher = FirstPaint(window)
    window.installEventFilter(watcher)
    return watcher


def wait_until(condition, timeout_ms: int) -> None:
    """Run the event loop until ``condition()`` holds (checked every few ms), at most
    ``timeout_ms``."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    if condition():
        return
    loop, clock, poll = QEventLoop(), QElapsedTimer(), QTimer(interval=5)
    clock.start()
    poll.timeout.connect(lambda: (condition() or clock.hasExpired(timeout_ms)) and loop.quit())
    poll.start()
    loop.exec()
    poll.stop()


def wait_first_paint(window, timeout_ms: int = 500) -> None:
    """Run the event loop until ``window`` has painted once (at most ``timeout_ms``): the
    helper thread that loads the rest holds the GIL for long stretches, and every Python
    handler the first paint passes through would wait for it."""
    painted: list[bool] = []
    watcher = on_first_paint(window, lambda: painted.append(True))
    wait_until(lambda: bool(painted), timeout_ms)
    window.removeEventFilter(watcher)
    watcher.deleteLater()


def discard_frame(frame) -> None:
    """A frame whose workspace did not open: what waits for it is told, its threads end."""
    ctx = frame.ctx
    if ctx is not None:
        abandon = getattr(ctx.read, "abandon", None)
        if abandon is not None:
            abandon()
        for ops in (ctx.db, ctx.net, ctx.files):
            ops.shutdown()
    frame.hide()
    frame.deleteLater()


def in_background(work):
    """``work()`` on a helper thread while this (GUI) thread's event loop runs, so what is
    on screen keeps painting and answering; its result, or its exception raised here."""
    import threading

    from PySide6.QtCore import QEventLoop, QObject, Signal

    class Done(QObject):
        finished = Signal()

    outcome: dict = {}
    done, loop = Done(), QEventLoop()
    done.finished.connect(loop.quit)  # queued: emitted on the helper thread

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - raised again on the GUI thread
            outcome["error"] = error
        finally:
            done.finished.emit()
    worker = threading.Thread(target=run, name="otd-open", daemon=True)
    worker.start()
    while worker.is_alive() or not outcome:
        loop.exec()  # returns on ``finished`` (or an application quit: wait on)
        worker.join(0.05)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class WindowOpener:
    """Opens the first main window, turning a :class:`Problem` into a dialog whose choice
    (Retry, Restore the newest good backup, Open another workspace) is acted on here.

    ``open()`` returns the window, or None with ``exit_code`` set (the user quit, or there
    is no screen to ask on). ``guard`` may be replaced when another workspace is chosen."""

    def __init__(self, settings: Settings, build, guard_factory, demos) -> None:
        self.settings, self.build, self.guard_factory, self.demos = (
            settings, build, guard_factory, demos)
        self.guard = None
        self.exit_code = 0
        self.password: str | None = None  # a signed-in team member's (``sign_in.py``)

    def acquire(self, listen: bool = True) -> bool:
        self.guard = self.guard_factory(self.settings)
        if self.guard.acquire(listen=listen):
            return True
        log.info("%s", self.guard.message)
        print(self.guard.message, flush=True)
        return False

    def open(self, frame=None, preload: tuple[str, ...] = (), opener=None):
        """The window. ``frame``: one already on screen (``ui.main_window.MainWindow``) to
        fill in: then the ``preload`` modules load and the workspace opens (``opener``)
        on a helper thread while the frame keeps painting; a problem hides it meanwhile."""
        from .problem_dialog import present
        while True:
            try:
                if frame is None:
                    connect_first(self.settings, self.password)
                    return self.build(self.settings, on_open_demo=self.demos.open,
                                      **self._password())
                return self._fill(frame, preload, opener)
            except Problem as error:
                problem = error
            except BaseException:  # unforeseen: the crash report; nothing left waiting
                if frame is not None:
                    discard_frame(frame)
                raise
            if frame is not None:
                frame.hide()
            report_problem(problem)
            choice = present(problem, self.settings.log_dir)
            if choice == "retry":
                pass
            elif choice == "restore":
                self._restore(problem)
            elif isinstance(choice, Path):
                if frame is not None:  # the frame belonged to the other workspace
                    discard_frame(frame)
                    frame = None
                if not self._switch(choice):
                    return None
                continue
            else:
                if frame is not None:
                    discard_frame(frame)
                self.exit_code = problem.exit_code
                return None
            if frame is not None:
                frame.show()

    def _password(self) -> dict:
        return {} if self.password is None else {"password": self.password}

    def _fill(self, frame, preload: tuple[str, ...], opener):
        import importlib
        settings = self.settings

        def load():
            for name in preload:
                importlib.import_module(name)
            return opener(settings, **self._password())
        workspace = in_background(load)
        if not frame.isVisible():  # closed (quit) while the workspace was opening
            workspace.close()
            discard_frame(frame)
            return None
        return self.build(settings, on_open_demo=self.demos.open, window=frame,
                          workspace=workspace, all_pages=False, ctx=frame.ctx)

    def _restore(self, problem: Problem) -> None:
        from .backups import RestoreError, restore
        try:
            aside = restore(problem.restore, problem.workspace, self.settings.backup_dir)
        except (RestoreError, OSError) as error:
            log.error("restoring %s failed: %s", problem.restore, error)
            print(f"Not restored: {error}", file=sys.stderr, flush=True)
            return
        log.info("restored %s from %s; the previous file is kept as %s", problem.workspace,
                 problem.restore, aside)

    def _switch(self, path: Path) -> bool:
        self.guard.release()
        self.settings = replace(self.settings, db_url=f"sqlite:///{path.as_posix()}",
                                demo=False)
        self.demos.settings = self.settings
        if self.acquire():
            return True
        self.exit_code = 0
        return False


#: What the window's frame must paint without (``--benchmark-startup`` reports which of
#: these were loaded at its first paint; the start-up test expects none).
HEAVY_MODULES = ("sqlalchemy", "alembic", "stripe", "reportlab", "keyring",
                 "opentrain_desk.services", "opentrain_desk.persistence",
                 "opentrain_desk.payments", "opentrain_desk.workspace")


class ReadyProbe:
    """Hidden modes ``--benchmark-startup`` / ``--screenshot PATH``.

    Once the main window shows its first page of jobs, prints one JSON line
    (``shown_epoch``: wall-clock time of that; ``painted_epoch``: of the window's first
    paint — both for a parent process that noted when it started this one;
    ``loaded_at_paint``: which :data:`HEAVY_MODULES` were loaded by then; ``main_ms``:
    since ``main()`` began; ``peak_rss_kb``), optionally selects the first job and grabs
    the window to PATH once the workspace is open and the database thread idle, then quits.
    ``exit_code`` is 0, or 3 (timed out) / 4 (image not saved).
    """

    def __init__(self, app, window, screenshot: str | None, started: float,
                 timeout_s: float = 60.0) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.window, self.screenshot, self.started = app, window, screenshot, started
        self.deadline = time.monotonic() + timeout_s
        self.painted: float | None = None
        self.loaded_at_paint: list[str] | None = None
        self.shown: float | None = None
        self.idle_since: float | None = None
        self.exit_code: int | None = None
        self.first_paint = on_first_paint(window, self.paint_done)
        self.timer = QTimer(window, interval=5)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def paint_done(self) -> None:
        self.painted = time.time()
        self.loaded_at_paint = [name for name in HEAVY_MODULES if name in sys.modules]

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
        elif self._settled():
            saved = self.window.grab().save(self.screenshot)
            self._finish(0 if saved else 4)

    def _settled(self) -> bool:
        """The workspace open and the database thread idle for 0.3 s on end (the first
        page may show before the workspace opens; what it then loads comes in steps)."""
        busy = (getattr(self.window, "workspace", None) is None
                or bool(self.window.ctx.db.pending))
        if busy:
            self.idle_since = None
        elif self.idle_since is None:
            self.idle_since = time.time()
        return self.idle_since is not None and time.time() - self.idle_since > 0.3

    def _first_page(self) -> None:
        if (self.painted is None or self.window.ctx is None
                or "actionJobs" not in self.window.pages):
            return  # the frame: the workspace is still opening
        page = self.window.jobs_page
        model = page.model
        if model.rowCount() == 0 and (model.is_loading or model.total):
            return
        self.shown = time.time()
        import json

        from ..process_stats import peak_rss
        print(json.dumps({"shown_epoch": self.shown, "painted_epoch": self.painted,
                          "loaded_at_paint": self.loaded_at_paint,
                          "rows": model.rowCount(),
                          "peak_rss_kb": peak_rss() // 1024 or None,
                          "main_ms": round((time.perf_counter() - self.started) * 1000, 1)}),
              flush=True)
        if not self.screenshot:
            self._finish(0)
        elif model.rowCount():
            page.table.selectRow(0)  # a job with its contracts makes a telling picture
