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
