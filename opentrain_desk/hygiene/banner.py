"""A banner above the main window's content for storage trouble that lasts a while.

* busy: another program has locked the workspace; changes wait and are saved by
  themselves when it is free (``retryNowButton``, ``cancelRetryButton``);
* connection: the workspace server connection was lost; the app checks every few
  seconds (``OPENTRAIN_DESK_RETRY_INTERVAL``) and hides the banner when the server answers
  again (``retryNowButton``);
* read-only: the workspace file may not be written; stays for the session.

objectNames: ``storageBanner``, ``storageBannerLabel``. Installed by ``app.build_window``
with :func:`install_banner` (no change to the main window's own layout code).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

__all__ = ["READ_ONLY_TEXT", "StorageBanner", "install_banner"]

log = logging.getLogger(__name__)
READ_ONLY_TEXT = ("Read-only: you do not have permission to change this workspace file. You "
                  "can look at everything and export reports; changes cannot be saved and "
                  "payments are paused.")


class StorageBanner(QFrame):
    def __init__(self, window, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_, self.db = window, window.ctx.db
        self.setObjectName("storageBanner")
        self.setProperty("role", "banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#storageBanner { background: palette(tool-tip-base); "
                           "border: 1px solid #c9a227; border-radius: 4px; }"
                           "#storageBanner QLabel { color: palette(tool-tip-text); }")
        self.label = QLabel(objectName="storageBannerLabel", wordWrap=True)
        self.retry_button = QPushButton("Retry now", objectName="retryNowButton")
        self.cancel_button = QPushButton("Stop waiting", objectName="cancelRetryButton")
        self.retry_button.clicked.connect(self._retry)
        self.cancel_button.clicked.connect(self.db.cancel_waiting)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry_button)
        layout.addWidget(self.cancel_button)
        self.kind = ""
        self.read_only = False
        from ..ui.ops import retry_ms
        self._probe = QTimer(self, interval=retry_ms())
        self._probe.timeout.connect(self._check_connection)
        self.db.troubleChanged.connect(self.show_trouble)
        self.hide()

    def show_trouble(self, kind: str, message: str) -> None:
        self.kind = kind
        if not kind:
            self._probe.stop()
            if self.read_only:
                self.show_read_only()
            else:
                self.hide()
            return
        self.label.setText(message)
        self.retry_button.show()
        self.cancel_button.setVisible(kind == "busy")
        if kind == "connection":
            self._probe.start()
        elif kind == "busy":
            self._name_holder(message)
        self.show()

    def _name_holder(self, message: str) -> None:
        """Where the OS tells (lsof, the Restart Manager), say which program holds the
        lock; asked off the GUI thread (it may take a second or two)."""
        from ..persistence.database import sqlite_path
        path = sqlite_path(self.window_.ctx.uow.engine)
        net = getattr(self.window_.ctx, "net", None)
        if path is None or net is None:
            return
        from .lockinfo import lock_holders
        net.run(self, lambda: lock_holders(path),
                lambda holders: self._show_holder(message, holders))

    def _show_holder(self, message: str, holders: list[str]) -> None:
        if self.kind == "busy" and holders:
            self.label.setText(f"{message} It is held by {', '.join(holders)}.")

    def show_read_only(self) -> None:
        self.read_only = True
        self.label.setText(READ_ONLY_TEXT)
        self.retry_button.hide()
        self.cancel_button.hide()
        self.show()

    def _retry(self) -> None:
        if self.kind == "connection":
            self._check_connection()
        else:
            self.db.retry_now()

    def _check_connection(self) -> None:
        engine = self.window_.ctx.uow.engine

        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        self.db.run(self, ping, lambda _ok: self.db.set_connection_ok(),
                    lambda error: log.info("workspace server still unreachable: %s", error))


def install_banner(window) -> StorageBanner:
    """Put the banner above the window's central widget. A window built with its
    ``centralContainer`` (the main window) gets it inserted there; any other has its
    central widget moved into one (which re-styles the whole tree: ~90 ms)."""
    container = window.centralWidget()
    if container is None or container.objectName() != "centralContainer":
        content = window.takeCentralWidget()
        container = QWidget(objectName="centralContainer")
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(content, 1)
        window.setCentralWidget(container)
        if window.isVisible():  # a window already on screen: show it now
            container.show()
    banner = StorageBanner(window, container)
    container.layout().insertWidget(0, banner)
    window.storage_banner = banner
    return banner
