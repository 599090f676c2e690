"""Bridges the outbox worker (a plain thread) to the GUI: status text and refreshes."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from typing import Callable, Protocol

from ..services import payment_sender
from ..services.ports import StripeLink, WorkerState
from ..services.read_models import ReadSide
from .ops import Ops

SYNC_INTERVAL_MS = 60_000


def status_text(state: WorkerState, pending: int, mode: str | None, sandbox: bool,
                attention: int = 0) -> str:
    text = _connection_text(state, pending, mode, sandbox)
    if attention:
        text += (f" - {attention} payment{'s' if attention != 1 else ''} need"
                 f"{'' if attention != 1 else 's'} attention (Reports → Check against Stripe)")
    return text


def _connection_text(state: WorkerState, pending: int, mode: str | None,
                     sandbox: bool) -> str:
    where = "Stripe sandbox" if sandbox else f"Stripe {mode} mode" if mode else "Stripe"
    if not state.connected or mode is None:
        return "Stripe not connected" + (f" - {pending} queued" if pending else "")
    if state.key_rejected:
        return f"Stripe key rejected - {pending} queued"
    if state.online is False:
        return f"Offline - {pending} queued"
    if state.online is None:
        return f"Connecting to {where}…" + (f" - {pending} queued" if pending else "")
    return f"Online - {where}" + (f" - {pending} queued" if pending else "")


class PaymentWorker(Protocol):
    """The outbox worker (``payments.outbox.OutboxWorker``), built by the composition root."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake(self) -> None: ...
    def sync_now(self) -> None: ...


class SyncController(QObject):
    """Owns the worker's lifecycle; emits ``paymentsChanged`` after every outcome."""

    _worker_changed = Signal(object)
    paymentsChanged = Signal()
    statusChanged = Signal(str)

    def __init__(self, read: ReadSide, connection: StripeLink, db: Ops,
                 make_worker: Callable[[Callable[[WorkerState], None]], PaymentWorker],
                 parent: QObject | None = None,
                 sender: Callable[[], payment_sender.Sender | None] | None = None,
                 me: str = "") -> None:
        """``make_worker(on_change)`` builds the payment worker; ``on_change`` may be called
        from the worker's thread (it is queued to the GUI thread here). Team workspaces:
        ``sender()`` reads which seat sends payments (``me``: this seat's login)."""
        super().__init__(parent)
        self.read, self.connection, self.db = read, connection, db
        self.sender_of, self.me, self.sender = sender, me, None
        self.worker = make_worker(self._worker_changed.emit)
        self.state = WorkerState()
        self.pending = 0
        self.attention = 0
        self.text = ""
        self._worker_changed.connect(self._on_worker, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self, interval=SYNC_INTERVAL_MS)
        self._timer.timeout.connect(self.sync_now)
        self._refresh_pending()

    def start(self) -> None:
        if getattr(self, "_stopped", False):  # closed before the delayed start fired
            return
        self.worker.start()
        self._timer.start()

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()
        self.worker.stop()

    def wake(self) -> None:
        """Something was queued: send it now (if online)."""
        self.worker.wake()
        self._refresh_pending()

    def sync_now(self) -> None:
        self.worker.sync_now()

    def connection_changed(self) -> None:
        self.worker.sync_now()
        self._update_text()

    def _on_worker(self, state: WorkerState) -> None:
        self.state = state
        self._refresh_pending()
        self.paymentsChanged.emit()

    def refresh(self) -> None:
        """Re-read the queue (and, in a team, who sends): another seat changed them."""
        self._refresh_pending()

    def _refresh_pending(self) -> None:
        read, sender_of = self.read, self.sender_of
        self.db.run(self, lambda: (read.operation_counts(),
                                   sender_of() if sender_of is not None else None),
                    self._set_pending)

    def _set_pending(self, result) -> None:
        (self.pending, self.attention), self.sender = result
        self._update_text()

    def _update_text(self) -> None:
        text = status_text(self.state, self.pending, self.connection.mode,
                           self.connection.is_sandbox, self.attention)
        if self.sender_of is not None:  # a team: say which seat sends
            team = payment_sender.status_text(self.sender, self.me, self.pending)
            if team is not None:  # another seat sends, or none: the worker's state is moot
                own = _connection_text(self.state, self.pending, self.connection.mode,
                                       self.connection.is_sandbox)
                text = team + text[len(own):]  # keeps "- N payments need attention"
        if text != self.text:
            self.text = text
            self.statusChanged.emit(text)
