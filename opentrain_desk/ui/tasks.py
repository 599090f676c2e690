"""Background work for the GUI: one worker thread for all database work.

Worker code never touches widgets. Results come back to the GUI thread through a
queued signal, so callbacks always run on the GUI thread. The callbacks themselves never
travel to the worker (they stay in a table on the GUI thread, keyed by a number): a callback
is usually a bound method or a lambda holding a model or a widget, and the worker dropping
the last reference to one would delete a Qt object on the wrong thread (a crash).
"""
from __future__ import annotations

import itertools
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from ..domain.errors import DomainError

log = logging.getLogger(__name__)
Callback = Callable[[Any], None]


def user_message(exc: BaseException) -> str:
    """A message that is safe to show: domain errors verbatim, others generic."""
    if isinstance(exc, DomainError):
        return str(exc)
    return (f"Something went wrong ({type(exc).__name__}). Nothing was changed; "
            "details are in the log.")


def _alive(callback: Callable) -> bool:
    """A bound method of a widget that was closed and deleted meanwhile is skipped."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


class TaskRunner(QObject):
    """Runs callables on a single background thread and reports back on the GUI thread."""

    _finished = Signal(object, int)  # future, key of its callbacks in ``_callbacks``
    busyChanged = Signal(bool)
    failed = Signal(str)  # unhandled errors, for the status bar / error banner

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="otd-db")
        self._pending = 0
        self._closed = False
        self._keys = itertools.count(1)
        self._callbacks: dict[int, tuple[Callback | None, Callback | None]] = {}
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def pending(self) -> int:
        return self._pending

    def run(self, fn: Callable[[], Any], on_success: Callback | None = None,
            on_error: Callback | None = None) -> Future | None:
        """Run ``fn()`` off the GUI thread; callbacks run on the GUI thread.

        After ``shutdown()`` (the window is closing) nothing new is started."""
        if self._closed:
            return None
        self._set_pending(self._pending + 1)
        key = next(self._keys)
        self._callbacks[key] = (on_success, on_error)
        future = self._pool.submit(fn)
        finished = self._finished
        future.add_done_callback(lambda f: finished.emit(f, key))
        return future

    def _deliver(self, future: Future, key: int) -> None:
        self._set_pending(self._pending - 1)
        on_success, on_error = self._callbacks.pop(key, (None, None))
        if future.cancelled():  # the runner was shut down before it ran
            return
        error = future.exception()
        if error is None:
            if on_success is not None and _alive(on_success):
                on_success(future.result())
            return
        if not isinstance(error, DomainError):
            log.error("background task failed", exc_info=error)
        if on_error is not None:
            if _alive(on_error):
                on_error(error)
        else:
            self.failed.emit(user_message(error))

    def _set_pending(self, value: int) -> None:
        was_busy, self._pending = self._pending > 0, value
        if was_busy != (value > 0):
            self.busyChanged.emit(value > 0)

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
