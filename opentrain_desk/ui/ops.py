"""Background operations: the one way the GUI runs work off its thread.

Modelled on Anki's ``QueryOp``/``CollectionOp``. An :class:`Op` is a piece of work with an
*owning* QObject (a page, a dialog, a model)::

    ctx.db.op(self, partial(read.job, job_id)).success(self._show).failure(self._err).run()
    ctx.db.run(self, work, self._show)                  # the same, short

* The work runs on the executor's thread(s); it never touches widgets.
* Its result comes back on the GUI thread through a queued signal and is delivered to
  ``success`` (or the error to ``failure``) only while the owner is alive: when the owner
  was deleted meanwhile (a closed dialog, a replaced contract view, a model whose parent
  went away) the result is dropped, never delivered. Work not yet started for a dead
  owner is not started at all.
* ``with_progress(cb)``: the work is called with a :class:`Progress` (``report(done,
  total)``, ``cancelled``); ``cb(done, total)`` runs on the GUI thread. ``Op.cancel()``
  sets the flag (and drops a result that still arrives).
* ``latest(key, delay_ms)``: debounce. A newer op of the same owner and key replaces an
  older one that has not started yet, after ``delay_ms`` of quiet.
* Errors without a ``failure`` handler reach one place: the executor's ``failed`` signal
  (the window's status bar), with a message that is safe to show.

Storage trouble is not a bug: an op that fails because another program has locked the
workspace (SQLite busy) is run again by itself every few seconds (its unit of work was
rolled back, so nothing is done twice) until it succeeds or the user cancels;
``troubleChanged(kind, message)`` tells the window (``busy``, ``connection``, or ``""``
when it is over) so it can show a banner.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
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


def alive(obj: QObject | None) -> bool:
    return obj is not None and shiboken6.isValid(obj)


class Progress:
    """Handed to work started ``with_progress``: report how far it is, see a cancel."""

    def __init__(self, emit: Callable[[object, int, int], None]) -> None:
        self._emit = emit  # holds no reference to the op or its callbacks
        self.cancel_event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def report(self, done: int, total: int) -> None:
        self._emit(self, done, total)


class Op:
    """One piece of background work for an owner; build it, then ``run()`` it."""

    def __init__(self, ops: Ops, owner: QObject, work: Callable[..., Any]) -> None:
        if not isinstance(owner, QObject):
            raise TypeError("an op needs an owning QObject")
        self._ops, self.owner, self.work = ops, owner, work
        self.on_success: Callback | None = None
        self.on_error: Callback | None = None
        self.on_progress: Callable[[int, int], None] | None = None
        self.progress: Progress | None = None
        self.key: str | None = None
        self.delay_ms = 0
        self.attempts = 0
        self.future: Future | None = None
        self._cancelled = False

    # -- building ------------------------------------------------------------------
    def success(self, callback: Callback | None) -> Op:
        self.on_success = callback
        return self

    def failure(self, callback: Callback | None) -> Op:
        self.on_error = callback
        return self

    def with_progress(self, callback: Callable[[int, int], None] | None = None) -> Op:
        self.on_progress = callback or (lambda _done, _total: None)
        self.progress = Progress(self._ops._progressed.emit)
        return self

    def latest(self, key: str, delay_ms: int = 0) -> Op:
        self.key, self.delay_ms = key, delay_ms
        return self

    def run(self) -> Op:
        self._ops._start(self)
        return self

    # -- state ---------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancelled = True
        if self.progress is not None:
            self.progress.cancel_event.set()
        if self.future is not None:
            self.future.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def deliverable(self) -> bool:
        return not self._cancelled and alive(self.owner)


class Ops(QObject):
    """Runs ops on ``workers`` background threads; reports back on the GUI thread.

    The app has three: ``db`` (one thread: all database work), ``net`` (Stripe calls,
    never on the database thread) and ``files`` (exports, which take a while)."""

    _finished = Signal(object)          # future
    _progressed = Signal(object, int, int)  # Progress, done, total
    busyChanged = Signal(bool)
    failed = Signal(str)                # errors nobody handled, for the status bar
    troubleChanged = Signal(str, str)   # kind ("busy", "connection" or "" = over), message

    def __init__(self, name: str = "db", workers: int = 1, parent: QObject | None = None,
                 *, retry_busy: bool = True) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"otd-{name}")
        self._retry_busy = retry_busy
        self._pending = 0
        self.dropped = 0  # results (or errors) not delivered: their owner was gone
        self._closed = False
        self._running: dict[Future, Op] = {}
        self._waiting: list[Op] = []        # busy: run again when the timer fires
        self._debounced: dict[tuple[int, str], tuple[Op, QTimer]] = {}
        self._trouble = ""
        self._retry_timer = QTimer(self, singleShot=True)
        self._retry_timer.timeout.connect(self.retry_now)
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._progressed.connect(self._report_progress, Qt.ConnectionType.QueuedConnection)

    # -- starting ------------------------------------------------------------------------
    def op(self, owner: QObject, work: Callable[..., Any]) -> Op:
        return Op(self, owner, work)

    def run(self, owner: QObject, work: Callable[[], Any], on_success: Callback | None = None,
            on_error: Callback | None = None) -> Op:
        """``op(owner, work).success(on_success).failure(on_error).run()``."""
        return self.op(owner, work).success(on_success).failure(on_error).run()

    @property
    def pending(self) -> int:
        return self._pending

    def _start(self, op: Op) -> None:
        if self._closed:
            return
        if not alive(op.owner):  # e.g. a debounced op whose owner went meanwhile
            self.dropped += 1
            return
        if op.key is not None:
            self._debounce(op)
            return
        self._set_pending(self._pending + 1)
        self._submit(op)

    def _debounce(self, op: Op) -> None:
        slot = (id(op.owner), op.key)
        older = self._debounced.pop(slot, None)
        if older is not None:  # replaced before it started
            older[1].stop()
            older[1].deleteLater()
        timer = QTimer(self, singleShot=True, interval=op.delay_ms)
        timer.timeout.connect(lambda: self._fire(slot, op))
        self._debounced[slot] = (op, timer)
        timer.start()

    def _fire(self, slot: tuple[int, str], op: Op) -> None:
        entry = self._debounced.get(slot)
        if entry is None or entry[0] is not op:
            return
        del self._debounced[slot]
        entry[1].deleteLater()
        op.key = None
        self._start(op)

    def _submit(self, op: Op) -> None:
        op.future = future = self._pool.submit(_Job(op).run)
        # The op (its callbacks: widgets' methods) stays on the GUI thread: were the
        # worker to drop the last reference to a widget, Qt would delete it off-thread.
        self._running[future] = op
        future.add_done_callback(self._finished.emit)

    # -- results -------------------------------------------------------------------------
    def _deliver(self, future: Future) -> None:
        op = self._running.pop(future, None)
        if op is None:
            return
        if future.cancelled():
            self._set_pending(self._pending - 1)
            return
        if not op.deliverable:
            self.dropped += 1
        error = future.exception()
        if (error is not None and self._retry_busy and runtime_kind(error) == "busy"
                and not self._closed and op.deliverable):
            self._wait_for_lock(op, error)
            return
        self._set_pending(self._pending - 1)
        if error is None:
            if self._trouble == "busy" and not self._waiting:
                self._set_trouble("")
            if op.on_success is not None and op.deliverable:
                op.on_success(future.result())
            return
        if not isinstance(error, _OwnerGone):
            self._report(op, error)

    def _report(self, op: Op, error: BaseException) -> None:
        kind = runtime_kind(error)
        if kind == "connection":
            self._set_trouble("connection")
        if isinstance(error, DomainError):
            pass
        elif kind is not None:
            log.warning("background work failed (%s): %s", kind, error)
            log.info("details of the failure above", exc_info=error)
        else:
            log.error("background work failed", exc_info=error)
        if op.on_error is not None:
            if op.deliverable:
                op.on_error(error)
        elif alive(op.owner) and not op.cancelled:
            self.failed.emit(user_message(error))

    def _report_progress(self, progress: Progress, done: int, total: int) -> None:
        op = next((op for op in self._running.values() if op.progress is progress), None)
        if op is not None and op.on_progress is not None and op.deliverable:
            op.on_progress(done, total)

    # -- a workspace locked by another program -----------------------------------------
    def _wait_for_lock(self, op: Op, error: BaseException) -> None:
        op.attempts += 1
        if op.attempts == 1:
            log.warning("workspace busy (%s); retrying every %d ms", error, retry_ms())
        self._waiting.append(op)
        self._set_trouble("busy")
        if not self._retry_timer.isActive():
            self._retry_timer.start(retry_ms())

    def retry_now(self) -> None:
        """Run the ops that met a locked workspace again (the banner's Retry)."""
        self._retry_timer.stop()
        waiting, self._waiting = self._waiting, []
        for op in waiting:
            if self._closed or not op.deliverable:
                self._set_pending(self._pending - 1)
            else:
                self._submit(op)
        if not self._waiting and self._trouble == "busy" and not self._running:
            self._set_trouble("")

    def cancel_waiting(self) -> None:
        """Give up on the ops waiting for the lock: each gets its error (a dialog shows
        it and keeps what was typed)."""
        self._retry_timer.stop()
        waiting, self._waiting = self._waiting, []
        self._set_trouble("")
        for op in waiting:
            self._set_pending(self._pending - 1)
            self._report(op, _BusyCancelled())

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
        was_busy, self._pending = self._pending > 0, max(0, value)
        if was_busy != (self._pending > 0):
            self.busyChanged.emit(self._pending > 0)

    def shutdown(self) -> None:
        """Nothing new starts; running work is waited for, queued work is dropped."""
        self._closed = True
        self._retry_timer.stop()
        self._waiting.clear()
        for _op, timer in self._debounced.values():
            timer.stop()
        self._debounced.clear()
        for op in list(self._running.values()):
            if op.progress is not None:
                op.progress.cancel_event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Job:
    """What the worker thread gets of an op: the work, never the callbacks.

    The op (and with it the callbacks, which hold widgets) stays with the GUI thread, so
    the last reference to a widget is never dropped on the worker. The owner is seen
    through a weak reference: work queued for an owner that is gone is not started."""

    __slots__ = ("_call", "_owner", "_op")

    def __init__(self, op: Op) -> None:
        self._call = (partial(op.work, op.progress) if op.progress is not None
                      else op.work)
        self._owner = weakref.ref(op.owner)
        self._op = weakref.ref(op)

    def run(self) -> Any:
        op, owner = self._op(), self._owner()
        if op is None or op.cancelled or owner is None or not alive(owner):
            del op, owner
            raise _OwnerGone()
        del op, owner
        return self._call()


class _OwnerGone(Exception):
    """Internal: the op was dropped before it started."""


class _BusyCancelled(DomainError):
    """The user stopped waiting for a workspace another program has locked."""

    def __init__(self) -> None:
        super().__init__("Not saved: the workspace is still locked by another program. What "
                         "you typed is kept; close the other program and try again.")

