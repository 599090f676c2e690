"""A named daemon thread running a worker's ``_loop`` until stopped (the payment and the
mail outbox workers): start once, ``wake()`` to run a pass now, ``stop()`` joins it."""
from __future__ import annotations

import threading


class LoopThread:
    thread_name = "otd-worker"

    def _init_thread(self) -> None:
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name,
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        raise NotImplementedError
