"""Background work for the GUI: one worker thread for all database work.

Worker code never touches widgets. Results come back to the GUI thread through a
queued signal, so callbacks always run on the GUI thread.

Storage trouble is not a bug: a task that fails because another program has locked the
workspace (SQLite busy) is run again by itself every few seconds (its unit of work was
rolled back, so nothing is done twice) until it succeeds or the user cancels;
``troubleChanged(kind, message)`` tells the window (``busy``, ``connection``, or ``""``
when it is over) so it can show a banner. Other storage errors (disk full, read-only,
a lost server connection) reach ``on_error`` with a message that says so.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ..domain.errors import DomainError
from ..hygiene.faults import RUNTIME_MESSAGES, runtime_kind, runtime_message

log = logging.getLogger(__name__)
Callback = Callable[[Any], None]
RETRY_ENV, RETRY_S = "OPENTRAIN_DESK_RETRY_INTERVAL", 5.0


def retry_ms() -> int:
    try:
        return max(100, int(float(os.environ.get(RETRY_ENV, RETRY_S)) * 1000))
    except ValueError:
        return int(RETRY_S * 1000)


def user_message(exc: BaseException) -> str:
    """A message that is safe to show: domain errors verbatim, storage trouble in plain
    words (busy, disk full, read-only, connection lost), others generic."""
    if isinstance(exc, DomainError):
        return str(exc)
    return runtime_message(exc) or (
        f"Something went wrong ({type(exc).__name__}). Nothing was changed; details are "
        "in the log.")


@dataclass(eq=False)
class _Task:
    fn: Callable[[], Any]
    on_success: Callback | None
    on_error: Callback | None
    attempts: int = 0
    owner: QObject | None = None  # results for an owner deleted meanwhile are dropped

    def alive(self, callback: Callable) -> bool:
        return (self.owner is None or shiboken6.isValid(self.owner)) and _alive(callback)


def _alive(callback: Callable) -> bool:
    """A bound method of a widget that was closed and deleted meanwhile is skipped."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


class TaskRunner(QObject):
    """Runs callables on a single background thread and reports back on the GUI thread."""

    _finished = Signal(object)  # future
    busyChanged = Signal(bool)
    failed = Signal(str)  # unhandled errors, for the status bar / error banner
    troubleChanged = Signal(str, str)  # kind ("busy", "connection" or "" = over), message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="otd-db")
        self._pending = 0
        self._closed = False
        self._tasks: dict[Future, _Task] = {}
        self._waiting: list[_Task] = []  # busy: run again when the timer fires
        self._trouble = ""
        self._retry_timer = QTimer(self, singleShot=True)
        self._retry_timer.timeout.connect(self.retry_now)
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def pending(self) -> int:
        return self._pending

    def run(self, fn: Callable[[], Any], on_success: Callback | None = None,
            on_error: Callback | None = None, owner: QObject | None = None) -> Future | None:
        """Run ``fn()`` off the GUI thread; callbacks run on the GUI thread, unless
        ``owner`` (for callbacks that are lambdas or partials) was deleted meanwhile.

        After ``shutdown()`` (the window is closing) nothing new is started."""
        if self._closed:
            return None
        self._set_pending(self._pending + 1)
        return self._submit(_Task(fn, on_success, on_error, owner=owner))

    def _submit(self, task: _Task) -> Future:
        future = self._pool.submit(task.fn)
        # The task (its callbacks: widgets' methods) stays on the GUI thread: were the
        # worker to drop the last reference to a widget, Qt would delete it off-thread.
        self._tasks[future] = task
        future.add_done_callback(self._finished.emit)
        return future

    def _deliver(self, future: Future) -> None:
        task = self._tasks.pop(future, None)
        if task is None or future.cancelled():  # the runner was shut down before it ran
            self._set_pending(self._pending - 1)
            return
        error = future.exception()
        if error is not None and runtime_kind(error) == "busy" and not self._closed:
            self._wait_for_lock(task, error)
            return
        self._set_pending(self._pending - 1)
        if error is None:
            if self._trouble == "busy" and not self._waiting:
                self._set_trouble("")
            if task.on_success is not None and task.alive(task.on_success):
                task.on_success(future.result())
            return
        self._report(task, error)

    def _report(self, task: _Task, error: BaseException) -> None:
        kind = runtime_kind(error)
        if kind == "connection":
            self._set_trouble("connection")
        if isinstance(error, DomainError):
            pass
        elif kind is not None:
            log.warning("background task failed (%s): %s", kind, error)
            log.info("details of the failure above", exc_info=error)
        else:
            log.error("background task failed", exc_info=error)
        if task.on_error is not None:
            if task.alive(task.on_error):
                task.on_error(error)
        else:
            self.failed.emit(user_message(error))

    # -- a workspace locked by another program -----------------------------------------
    def _wait_for_lock(self, task: _Task, error: BaseException) -> None:
        task.attempts += 1
        if task.attempts == 1:
            log.warning("workspace busy (%s); retrying every %d ms", error, retry_ms())
        self._waiting.append(task)
        self._set_trouble("busy")
        if not self._retry_timer.isActive():
            self._retry_timer.start(retry_ms())

    def retry_now(self) -> None:
        """Run the tasks that met a locked workspace again (the banner's Retry)."""
        self._retry_timer.stop()
        waiting, self._waiting = self._waiting, []
        for task in waiting:
            if self._closed:
                self._set_pending(self._pending - 1)
            else:
                self._submit(task)

    def cancel_waiting(self) -> None:
        """Give up on the tasks waiting for the lock: each gets its error (a dialog shows
        it and keeps what was typed)."""
        self._retry_timer.stop()
        waiting, self._waiting = self._waiting, []
        self._set_trouble("")
        for task in waiting:
            self._set_pending(self._pending - 1)
            self._report(task, _BusyCancelled())

    @property
    def trouble(self) -> str:
        return self._trouble

    def set_connection_ok(self) -> None:
        if self._trouble == "connection":
            self._set_trouble("")

    def _set_trouble(self, kind: str) -> None:
        if kind != self._trouble:
            self._trouble = kind
            self.troubleChanged.emit(kind, RUNTIME_MESSAGES.get(kind, ""))

    def _set_pending(self, value: int) -> None:
        was_busy, self._pending = self._pending > 0, value
        if was_busy != (value > 0):
            self.busyChanged.emit(value > 0)

    def shutdown(self) -> None:
        self._closed = True
        self._retry_timer.stop()
        self._waiting.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)


class _BusyCancelled(DomainError):
    """The user stopped waiting for a workspace another program has locked."""

    def __init__(self) -> None:
        super().__init__("Not saved: the workspace is still locked by another program. What "
                         "you typed is kept; close the other program and try again.")
