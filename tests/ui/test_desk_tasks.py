"""The background runner never lets a callback (and the model or widget it holds) be
released on the worker thread: Qt objects deleted there crash the app."""
from __future__ import annotations

import threading

from PySide6.QtCore import QTimer

from opentrain_desk.ui.tasks import TaskRunner


class Owner:
    """Stands in for a parentless model whose bound method is the callback."""

    def __init__(self, delivered: threading.Event, dropped_on: list[str]) -> None:
        self.delivered, self.dropped_on = delivered, dropped_on

    def done(self, _result) -> None:
        QTimer.singleShot(0, self.delivered.set)  # once the delivery has fully returned

    def __del__(self) -> None:
        self.dropped_on.append(threading.current_thread().name)


def test_callbacks_are_released_on_the_gui_thread(qtbot):
    runner = TaskRunner()
    gate, delivered, dropped_on = threading.Event(), threading.Event(), []
    owner = Owner(delivered, dropped_on)
    future = runner.run(lambda: gate.wait(5), owner.done)
    # the worker lingers after the result until the GUI thread has delivered it
    future.add_done_callback(lambda _f: delivered.wait(5))
    del owner, future
    gate.set()
    qtbot.waitUntil(lambda: bool(dropped_on), timeout=5000)
    runner.shutdown()
    assert dropped_on == [threading.main_thread().name]


def test_a_page_arriving_for_a_deleted_model_is_dropped(qtbot):
    """Found as 'Internal C++ object (MilestonesModel) already deleted': the model's
    callbacks are lambdas, so the runner needs to know their owner."""
    import shiboken6
    from PySide6.QtCore import QObject

    from opentrain_desk.ui.models.tables import MilestonesModel
    runner, parent, gate = TaskRunner(), QObject(), threading.Event()
    model = MilestonesModel(runner, parent)
    model.set_source(lambda: gate.wait(5) and 1, lambda _offset, _limit: [])
    parent.deleteLater()  # the job view closes while the page is loading
    qtbot.waitUntil(lambda: not shiboken6.isValid(model))
    gate.set()
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)  # no exception raised
    runner.shutdown()
