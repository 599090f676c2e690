"""Desktop (system tray) notices: a thin adapter over :mod:`services.desktop_notices`.

Which notifications to show, and that each is shown once per seat, is decided by the
service (``take_notice``) on the DB thread; this object only shows the resulting notice on
a tray and turns a click into "open that milestone" (or "show the list" for a summary).
The tray is anything with ``showMessage(title, body, icon, ms)`` and a ``messageClicked``
signal: a real ``QSystemTrayIcon`` where the desktop has a tray, a fake in tests
(:meth:`DesktopNotices.set_tray`). Turned off per seat with :data:`NOTICES_KEY` in the
per-user layout memory (Settings → Appearance).
"""
from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QStyle, QSystemTrayIcon, QWidget

from ..config import APP_NAME
from ..services.desktop_notices import Notice, take_notice
from .context import AppContext

log = logging.getLogger(__name__)
NOTICES_KEY = "notices/desktop"  # per seat (ui-state.ini): "false" turns notices off
SHOW_MS = 10_000


def notices_enabled(memory) -> bool:
    value = memory.value(NOTICES_KEY) if memory is not None else None
    return str(value).lower() not in ("false", "0")


class DesktopNotices(QObject):
    openMilestone = Signal(int, int, int)  # job_id, contract_id, milestone_id
    openList = Signal()                    # a summary was clicked: the notification center
    trayActivated = Signal()               # the tray icon itself was clicked

    def __init__(self, ctx: AppContext, window: QWidget, memory=None) -> None:
        super().__init__(window)
        self.setObjectName("desktopNotices")
        self.ctx, self.window, self.memory = ctx, window, memory
        self.tray = None
        self.shown: list[Notice] = []  # every notice shown by this window, oldest first

    @property
    def enabled(self) -> bool:
        return notices_enabled(self.memory)

    def set_tray(self, tray) -> None:
        """Use ``tray`` (a ``QSystemTrayIcon`` or a fake with the same two members)."""
        self.tray = tray
        tray.messageClicked.connect(self.clicked)

    def make_tray(self):
        """The desktop's tray icon; None where the desktop has no system tray."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        icon = self.window.windowIcon()
        if icon.isNull():
            icon = self.window.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
        tray = QSystemTrayIcon(icon, self)
        tray.setObjectName("systemTray")
        tray.setToolTip(APP_NAME)
        tray.activated.connect(lambda _reason: self.trayActivated.emit())
        tray.show()
        return tray

    def _ensure_tray(self):
        if self.tray is None:
            tray = self.make_tray()
            if tray is not None:
                self.set_tray(tray)
        return self.tray

    # -- checking -----------------------------------------------------------------------
    def check(self, latest_id: int) -> None:
        """Notifications up to ``latest_id`` exist: show what this seat was not told yet."""
        work = partial(take_notice, self.ctx.uow, self.ctx.read.unread_after, latest_id,
                       self.enabled)
        self.ctx.db.run(self, work, self.show, self._not_checked)

    def _not_checked(self, error: BaseException) -> None:
        """A notice is a courtesy: a workspace that cannot be written (read-only file, lock)
        logs it and shows nothing, rather than an error on every poll."""
        log.warning("desktop notices not checked: %s", error)

    def show(self, notice: Notice | None) -> bool:
        """Show ``notice``; False when there is nothing to show or no tray to show it on."""
        if notice is None or not self.enabled:
            return False
        tray = self._ensure_tray()
        if tray is None:
            return False
        self.shown.append(notice)
        tray.showMessage(notice.title, notice.body, QSystemTrayIcon.MessageIcon.Information,
                         SHOW_MS)
        return True

    def clicked(self) -> None:
        """The tray reports a click on its message: the last one shown (a tray shows one
        message at a time, each replacing the previous)."""
        if not self.shown:
            return
        notice = self.shown[-1]
        if notice.opens_milestone:
            self.openMilestone.emit(notice.job_id, notice.contract_id, notice.milestone_id)
        else:
            self.openList.emit()
