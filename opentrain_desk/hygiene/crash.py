"""Unhandled exceptions: logged, and shown in a non-blocking dialog with a redacted report.

:func:`install_crash_handler` replaces ``sys.excepthook`` (errors raised in Qt slots and
event handlers arrive there too) and ``threading.excepthook``. Every unhandled exception
is logged with its traceback (the log filter redacts it); on the GUI thread a
:class:`~.crash_dialog.CrashDialog` (objectName ``crashDialog``) opens with ``open()``,
never ``exec()``.
Exceptions on other threads reach the dialog through a queued signal. Repeated errors
while the dialog is open are appended to it instead of stacking dialogs.

The report holds the app version, Python/Qt versions, platform and traceback, passed
through :func:`~opentrain_desk.hygiene.logs.redact`; the user's home folder is shown as
``~``. It never contains the Stripe key: keys are not in the report's inputs and any
key-looking text is redacted anyway.
"""
from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication

from .. import __version__
from ..config import APP_NAME
from .logs import redact

__all__ = ["CrashHandler", "format_report", "install_crash_handler"]

log = logging.getLogger(__name__)


def _environment() -> list[str]:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    frozen = "frozen build" if getattr(sys, "frozen", False) else "source"
    return [f"{APP_NAME} {__version__} ({frozen})",
            f"Python {platform.python_version()} ({platform.python_implementation()})",
            f"Qt {qVersion()}, PySide6 {pyside_version}",
            f"Platform {platform.platform()} ({platform.machine()})",
            f"Time {datetime.now(timezone.utc).isoformat(timespec='seconds')}"]


def _hide_home(text: str) -> str:
    home = str(Path.home())
    return text.replace(home, "~") if len(home) > 1 else text


def format_report(exc_type: type[BaseException], exc: BaseException,
                  tb: TracebackType | None, thread: str | None = None) -> str:
    """A plain-text bug report, safe to paste into an e-mail or an issue tracker."""
    lines = _environment()
    if thread:
        lines.append(f"Thread {thread}")
    trace = "".join(traceback.format_exception(exc_type, exc, tb))
    return redact(_hide_home("\n".join(lines) + "\n\n" + trace.rstrip() + "\n"))


class CrashHandler(QObject):
    """Receives unhandled exceptions from any thread; shows them on the GUI thread."""

    _reported = Signal(str)

    def __init__(self, log_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_dir = log_dir
        self.dialog = None  # crash_dialog.CrashDialog while one is shown
        self._reported.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._previous = (sys.excepthook, threading.excepthook)

    def install(self) -> CrashHandler:
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        return self

    def uninstall(self) -> None:
        if sys.excepthook == self.excepthook:
            sys.excepthook = self._previous[0]
        if threading.excepthook == self.thread_excepthook:
            threading.excepthook = self._previous[1]

    def excepthook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.handle(exc_type, exc, tb, threading.current_thread().name)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        thread = args.thread.name if args.thread is not None else None
        self.handle(args.exc_type, args.exc_value, args.exc_traceback, thread)

    def handle(self, exc_type, exc, tb, thread: str | None = None) -> None:
        log.critical("unhandled exception (thread %s)", thread, exc_info=(exc_type, exc, tb))
        try:
            report = format_report(exc_type, exc, tb, thread)
        except Exception:  # noqa: BLE001 - the crash handler itself must never raise
            report = redact(f"{APP_NAME} {__version__}: {exc_type.__name__}")
        if QApplication.instance() is None:
            sys.stderr.write(report)
            return
        self._reported.emit(report)  # queued: shown on the GUI thread, after this returns

    def fatal(self, exc_type, exc, tb) -> None:
        """Start-up failed before the event loop: log, print, and (with a screen) show the
        report modally — there is nothing else to keep responsive."""
        log.critical("start-up failed", exc_info=(exc_type, exc, tb))
        report = format_report(exc_type, exc, tb)
        sys.stderr.write(report)
        platform_name = QApplication.platformName()
        if QApplication.instance() is not None and platform_name not in ("offscreen", "minimal"):
            from .crash_dialog import CrashDialog
            CrashDialog(report, self.log_dir).exec()

    def _show(self, report: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.append_report(report)
            return
        from .crash_dialog import CrashDialog
        self.dialog = CrashDialog(report, self.log_dir, QApplication.activeWindow())
        self.dialog.destroyed.connect(self._forget)
        self.dialog.open()

    def _forget(self, *_args) -> None:
        self.dialog = None


def install_crash_handler(log_dir: Path | None = None) -> CrashHandler:
    """Install the hooks; keep the returned handler alive (it is parented to the app)."""
    return CrashHandler(log_dir, QApplication.instance()).install()
