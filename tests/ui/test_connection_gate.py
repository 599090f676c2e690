"""A lost server connection turns every change off, with the reason, until the banner's
probe reaches the server again; what was typed in an open dialog stays."""
from __future__ import annotations

import sqlalchemy as sa
from PySide6.QtWidgets import QLineEdit, QPushButton, QWidget

from opentrain_desk.ui.roles import OFFLINE
from tests.ui.conftest import click, find, idle, wait_dialog


def drop_connection():
    """What SQLAlchemy raises when the server ends the session mid-statement."""
    raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"),
                                  connection_invalidated=True)


def test_writes_are_off_while_the_server_is_lost_and_back_after(qtbot, window):
    idle(qtbot, window)
    new_job = find(window, QPushButton, "newJobButton")
    assert new_job.isEnabled()
    click(qtbot, new_job)
    dialog = wait_dialog(qtbot, window, "newJobDialog")
    title = dialog.findChild(QLineEdit, "jobTitleEdit")
    qtbot.keyClicks(title, "Typed before the outage")

    window.ctx.db.run(window, drop_connection, None, lambda _error: None)
    qtbot.waitUntil(lambda: not new_job.isEnabled(), timeout=5000)
    assert new_job.toolTip() == OFFLINE
    banner = find(window, QWidget, "storageBanner")
    assert banner.isVisible()
    assert title.text() == "Typed before the outage"  # the open dialog keeps its input

    # "Retry now" pings the server (reachable again; the probe does the same every few
    # seconds): changes come back on
    click(qtbot, find(banner, QPushButton, "retryNowButton"))
    qtbot.waitUntil(new_job.isEnabled, timeout=5000)
    assert not banner.isVisible()
    assert new_job.toolTip() != OFFLINE
    assert title.text() == "Typed before the outage"
    dialog.reject()
