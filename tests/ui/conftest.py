"""UI fixtures: a real main window on a real SQLite file, driven through the widgets."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QMessageBox, QPushButton, QTableView, QWidget

from opentrain_desk.app import apply_style, build_window, close_window
from opentrain_desk.hygiene.palette import base_stylesheet
from tests.conftest import at_head


def open_window(qtbot, settings, sandbox_server=None):
    window = build_window(settings, on_open_demo=lambda: None, sandbox_server=sandbox_server)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.ctx.db.pending == 0)
    return window


def styled(qapp) -> None:
    """The app's stylesheet (``app.apply_style``), set only when it is not set already:
    setting the same one again re-polishes every widget still alive (a window closed by the
    previous test and not yet deleted: a third of a second) for the same look."""
    if qapp.styleSheet() != base_stylesheet():
        apply_style(qapp)


@pytest.fixture
def window(qtbot, qapp, settings, _head_workspace):
    """The main window on a new, empty workspace (a copy of one already migrated: these
    tests are about the window, not about creating or migrating the file)."""
    styled(qapp)
    at_head(settings.db_url, _head_workspace)
    win = open_window(qtbot, settings)
    yield win
    close_window(win)


@pytest.fixture
def sandbox_window(qtbot, settings, sandbox, _head_workspace):
    """The main window on the embedded Stripe sandbox (payments are sent at once)."""
    at_head(settings.db_url, _head_workspace)
    win = open_window(qtbot, replace(settings, sandbox=True), sandbox_server=sandbox)
    win.ctx.sync.worker.lease = timedelta(0)
    yield win
    close_window(win)


def idle(qtbot, window):
    qtbot.waitUntil(lambda: window.ctx.db.pending == 0, timeout=5000)


def find(window: QWidget, cls, name: str):
    widget = window.findChild(cls, name)
    assert widget is not None, f"no {cls.__name__} named {name}"
    return widget


def wait_dialog(qtbot, window, name: str, cls=QDialog):
    qtbot.waitUntil(lambda: (d := window.findChild(cls, name)) is not None and d.isVisible())
    return window.findChild(cls, name)


def click(qtbot, button: QPushButton):
    assert button.isEnabled(), f"{button.objectName()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def type_into(qtbot, edit, text: str):
    if isinstance(edit, QLineEdit):
        edit.clear()
        if text.isascii():
            qtbot.keyClicks(edit, text)
        else:  # QTest can only synthesise ASCII key presses
            edit.insert(text)
    else:
        edit.setPlainText(text)


def submit(qtbot, dialog: QDialog):
    click(qtbot, dialog.findChild(QPushButton, "submitButton"))


def select_row(qtbot, table: QTableView, row: int):
    qtbot.waitUntil(lambda: table.model().rowCount() > row)
    table.selectRow(row)


def table_column(table: QTableView, column: int) -> list[str]:
    model = table.model()
    return [model.index(r, column).data() for r in range(model.rowCount())]


def confirm_box(qtbot, window, name: str):
    box = wait_dialog(qtbot, window, name, QMessageBox)
    click(qtbot, box.findChild(QPushButton, "confirmYesButton"))


def closed(dialog) -> bool:
    """A dialog that was accepted is hidden and (WA_DeleteOnClose) soon deleted."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def wait_closed(qtbot, dialog):
    qtbot.waitUntil(lambda: closed(dialog))


def contract_of(widget):
    """The ContractView (contract tab) a widget belongs to."""
    from opentrain_desk.ui.views.contract_view import ContractView
    while widget is not None and not isinstance(widget, ContractView):
        widget = widget.parent()
    return widget
