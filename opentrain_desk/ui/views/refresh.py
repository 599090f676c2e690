"""Views that follow changes: reload soon while shown, else once when next shown."""
from __future__ import annotations

RELOAD_DELAY_MS = 300  # changes come in bursts (busy on/off, live updates): coalesce them


class RefreshWhenShown:
    """Mixin for a QWidget with ``reload(delay_ms=0)``: ``refresh()`` is what change
    signals connect to; a hidden view only notes it is stale."""

    _stale = False

    def refresh(self) -> None:
        """Something changed: reload soon if shown (bursts coalesce), else when shown."""
        if self.isVisible():
            self.reload(RELOAD_DELAY_MS)
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._stale:
            self.reload()
        super().showEvent(event)
