"""Live updates on the GUI thread: what other seats changed, in coalesced bursts.

``LiveUpdates`` wraps a ``services.ports.ChangeFeed`` (None in a solo workspace: then it
never emits). The feed calls back on its own thread; the tables are queued to the GUI
thread and gathered for ``COALESCE_MS`` so a burst (an approval touches milestones,
operations, notifications and invoices) makes one ``changed(tables)``. Views connect with
:meth:`LiveUpdates.on` naming the tables they show.
"""
from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ..services.ports import ChangeFeed

COALESCE_MS = 80

#: What each screen shows (a change to any of these tables refreshes it).
JOBS_TABLES = frozenset({"jobs", "contracts", "milestones", "trainers", "stripe_operations"})
TIMELINE_TABLES = JOBS_TABLES | {"members"}
NOTIFICATION_TABLES = frozenset({"notifications"})
HISTORY_TABLES = frozenset({"stripe_operations", "milestones", "invoices"})
INVOICE_TABLES = frozenset({"invoices"})
MESSAGE_TABLES = frozenset({"outgoing_messages"})
SETTINGS_TABLES = frozenset({"workspace_settings", "members"})


class LiveUpdates(QObject):
    """Emits ``changed(tables)`` on the GUI thread after other seats' changes."""

    changed = Signal(object)   # set[str]
    _arrived = Signal(object)  # from the feed's thread

    def __init__(self, feed: ChangeFeed | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self._pending: set[str] = set()
        self._timer = QTimer(self, interval=COALESCE_MS)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)
        self._arrived.connect(self._gather, Qt.ConnectionType.QueuedConnection)
        self._started = False

    @property
    def active(self) -> bool:
        return self.feed is not None

    def start(self) -> None:
        if self.feed is not None and not self._started:
            self._started = True
            self.feed.start(self._arrived.emit)

    def stop(self) -> None:
        if self.feed is not None and self._started:
            self._started = False
            self.feed.stop()
        self._timer.stop()

    def on(self, tables: Iterable[str], slot: Callable[[], None],
           owner: QObject | None = None) -> None:
        """Call ``slot()`` whenever one of ``tables`` changed (until ``owner`` dies)."""
        wanted = frozenset(tables)

        def relay(changed: set[str]) -> None:
            if wanted & changed:
                slot()
        if owner is None:
            self.changed.connect(relay)
            return
        relay_obj = _Relay(owner, relay)
        self.changed.connect(relay_obj.fire)

    def _gather(self, tables: set[str]) -> None:
        self._pending |= set(tables)
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        tables, self._pending = self._pending, set()
        if tables:
            self.changed.emit(tables)


class _Relay(QObject):
    """Lives as a child of the view: the connection goes when the view does."""

    def __init__(self, owner: QObject, relay: Callable[[set[str]], None]) -> None:
        super().__init__(owner)
        self._relay = relay

    def fire(self, tables: set[str]) -> None:
        self._relay(tables)
