"""Bridges the mail worker (a plain thread) to the GUI: ``mailChanged`` after every
outcome, and a one-line status for Settings → E-mail."""
from __future__ import annotations

from typing import Callable, Protocol

from PySide6.QtCore import QObject, Qt, Signal

from ..services.ports import MailWorkerState


class MailWorkerLike(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake(self) -> None: ...


def mail_status_text(state: MailWorkerState) -> str:
    if not state.configured:
        return "E-mail not set up: messages to trainers wait as drafts (open them in your " \
               "e-mail app)."
    queued = f" - {state.queued} queued" if state.queued else ""
    if state.online is False:
        return f"Mail server problem: {state.last_error}{queued}"
    return f"E-mail on{queued}"


class MailSyncController(QObject):
    """Owns the mail worker's lifecycle (started and stopped with the window)."""

    _worker_changed = Signal(object)
    mailChanged = Signal()
    statusChanged = Signal(str)

    def __init__(self, make_worker: Callable[[Callable[[MailWorkerState], None]],
                                             MailWorkerLike],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = make_worker(self._worker_changed.emit)
        self.state = MailWorkerState()
        self.text = ""  # until the worker's first pass says how things are
        self._stopped = False
        self._worker_changed.connect(self._on_worker, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        if not self._stopped:
            self.worker.start()

    def stop(self) -> None:
        self._stopped = True
        self.worker.stop()

    def wake(self) -> None:
        """Something may have been queued (or settings changed): look now."""
        if not self._stopped:
            self.worker.wake()

    def _on_worker(self, state: MailWorkerState) -> None:
        self.state = state
        self.mailChanged.emit()
        text = mail_status_text(state)
        if text != self.text:
            self.text = text
            self.statusChanged.emit(text)
