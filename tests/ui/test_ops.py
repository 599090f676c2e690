"""The one background-op helper (ui/ops.py): results reach only living owners, on the GUI
thread; progress, cancel, debounce and unhandled errors each have one way."""
from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import QObject, QTimer

from opentrain_desk.domain.errors import DomainError
from opentrain_desk.ui.ops import Ops


@pytest.fixture
def ops(qtbot):
    executor = Ops("test")
    yield executor
    executor.shutdown()


class Owner:
    """Stands in for a parentless model whose bound method is the callback."""

    def __init__(self, delivered: threading.Event, dropped_on: list[str]) -> None:
        self.delivered, self.dropped_on = delivered, dropped_on

    def done(self, _result) -> None:
        QTimer.singleShot(0, self.delivered.set)  # once the delivery has fully returned

    def __del__(self) -> None:
        self.dropped_on.append(threading.current_thread().name)


def test_callbacks_are_released_on_the_gui_thread(qtbot, ops):
    anchor = QObject()
    gate, delivered, dropped_on = threading.Event(), threading.Event(), []
    owner = Owner(delivered, dropped_on)
    op = ops.run(anchor, lambda: gate.wait(5), owner.done)
    # the worker lingers after the result until the GUI thread has delivered it
    op.future.add_done_callback(lambda _f: delivered.wait(5))
    del owner, op
    gate.set()
    qtbot.waitUntil(lambda: bool(dropped_on), timeout=5000)
    assert dropped_on == [threading.main_thread().name]


def test_a_result_for_a_deleted_owner_is_dropped(qtbot, ops):
    owner, gate, got, errors = QObject(), threading.Event(), [], []
    ops.run(owner, lambda: gate.wait(5) and "page", got.append, errors.append)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    gate.set()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=5000)
    assert got == [] and errors == []


def test_an_error_for_a_deleted_owner_is_dropped_and_not_reported(qtbot, ops):
    owner, gate, errors, reported = QObject(), threading.Event(), [], []
    ops.failed.connect(reported.append)

    def boom():
        gate.wait(5)
        raise DomainError("too late")

    ops.run(owner, boom)                      # no handler: would reach the status bar
    ops.run(owner, boom, None, errors.append)  # handler on the dead owner
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    gate.set()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=5000)
    assert errors == [] and reported == []


def test_work_queued_for_a_dead_owner_never_starts(qtbot, ops):
    blocker, owner, gate, ran = QObject(), QObject(), threading.Event(), []
    ops.run(blocker, lambda: gate.wait(5))        # keeps the single thread busy
    ops.run(owner, lambda: ran.append("ran"))     # queued behind it
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    gate.set()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=5000)
    assert ran == []


def test_an_unhandled_error_reaches_the_one_handler_with_a_safe_message(qtbot, ops):
    owner = QObject()
    with qtbot.waitSignal(ops.failed, timeout=5000) as signal:
        ops.run(owner, lambda: 1 / 0)
    assert signal.args[0].startswith("Something went wrong (ZeroDivisionError)")


def test_progress_arrives_on_the_gui_thread_and_cancel_stops_the_work(qtbot, ops):
    owner, seen, started = QObject(), [], threading.Event()
    results, errors = [], []

    def work(progress):
        for done in range(1, 1000):
            if progress.cancelled:
                raise DomainError("cancelled")
            progress.report(done, 1000)
            started.set()
            progress.cancel_event.wait(0.01)
        return "finished"

    op = (ops.op(owner, work)
          .with_progress(lambda done, total: seen.append((done, total,
                                                          threading.current_thread().name)))
          .success(results.append).failure(errors.append).run())
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=5000)
    op.cancel()
    qtbot.waitUntil(lambda: ops.pending == 0, timeout=5000)
    assert all(name == threading.main_thread().name for _d, _t, name in seen)
    assert seen[0][:2] == (1, 1000)
    assert results == [] and errors == []  # a cancelled op delivers nothing
    assert op.cancelled


def test_latest_replaces_an_op_that_has_not_started(qtbot, ops):
    owner, ran, got = QObject(), [], []
    for text in ("a", "ab", "abc"):
        ops.op(owner, lambda t=text: ran.append(t) or t).success(got.append).latest(
            "search", 50).run()
    qtbot.waitUntil(lambda: got == ["abc"], timeout=5000)
    qtbot.wait(100)
    assert ran == ["abc"]


def test_latest_is_per_owner(qtbot, ops):
    first, second, got = QObject(), QObject(), []
    ops.op(first, lambda: 1).success(got.append).latest("reload", 20).run()
    ops.op(second, lambda: 2).success(got.append).latest("reload", 20).run()
    qtbot.waitUntil(lambda: sorted(got) == [1, 2], timeout=5000)


def test_a_debounced_op_for_an_owner_deleted_meanwhile_never_runs(qtbot, ops):
    owner, ran = QObject(), []
    ops.op(owner, lambda: ran.append(1)).latest("reload", 50).run()
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner))
    qtbot.wait(150)
    assert ran == [] and ops.pending == 0


def test_an_op_needs_an_owner(ops):
    with pytest.raises(TypeError):
        ops.run(None, lambda: 1)


def test_after_shutdown_nothing_starts(qtbot):
    executor, owner, ran = Ops("late"), QObject(), []
    executor.shutdown()
    executor.run(owner, lambda: ran.append(1))
    qtbot.wait(50)
    assert ran == [] and executor.pending == 0
