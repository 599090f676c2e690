"""The start-up problem dialog: the message of a :class:`~.faults.Problem` and its ways out.

Shown before the main window exists (so ``exec()`` blocks nothing else). Buttons by
objectName: ``restoreBackupButton`` (the newest good backup), ``retryButton`` (busy or
unreachable: it also retries by itself every few seconds, ``retryCountdownLabel`` says
when), ``openOtherWorkspaceButton`` (a file chooser), ``openLogFolderButton`` and
``quitButton``. :attr:`ProblemDialog.choice` is ``"quit"``, ``"retry"``, ``"restore"`` or
the :class:`~pathlib.Path` of another workspace file.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFileDialog, QLabel,
                               QVBoxLayout, QWidget)

from ..config import APP_NAME
from .faults import Problem

__all__ = ["ProblemDialog", "interactive", "present"]

RETRY_ENV, RETRY_S = "OPENTRAIN_DESK_RETRY_INTERVAL", 5


def retry_interval() -> int:
    try:
        return max(1, int(float(os.environ.get(RETRY_ENV, RETRY_S))))
    except ValueError:
        return RETRY_S


def interactive() -> bool:
    """A screen to show a dialog on (headless runs and tests print to stderr only)."""
    app = QApplication.instance()
    return app is not None and QGuiApplication.platformName() not in ("offscreen", "minimal")


class ProblemDialog(QDialog):
    def __init__(self, problem: Problem, log_dir: Path | None = None,
                 parent: QWidget | None = None, open_other: bool = True) -> None:
        super().__init__(parent)
        self.problem, self.log_dir, self.choice = problem, log_dir, "quit"
        self._offer_other = open_other
        self.setObjectName("startupProblemDialog")
        self.setWindowTitle(f"{APP_NAME} — {problem.title}")
        layout = QVBoxLayout(self)
        title = QLabel(problem.title, objectName="problemTitleLabel")
        title.setProperty("role", "heading")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        layout.addWidget(title)
        self.text_label = self._label(problem.text(), "problemTextLabel")
        layout.addWidget(self.text_label)
        if problem.backups:
            lines = "\n".join(problem.backup_lines())
            layout.addWidget(self._label(f"Backups of this workspace (newest first):\n{lines}",
                                         "problemBackupsLabel"))
        self.countdown = self._label("", "retryCountdownLabel")
        self.countdown.setVisible(problem.retry)
        layout.addWidget(self.countdown)
        buttons = self._buttons()
        layout.addWidget(buttons)
        self.setMinimumWidth(max(640, buttons.sizeHint().width() + 40))
        self._left = retry_interval()
        self._timer = QTimer(self, interval=1000)
        self._timer.timeout.connect(self._tick)
        if problem.retry:
            self._show_countdown()
            self._timer.start()

    @staticmethod
    def _label(text: str, name: str) -> QLabel:
        label = QLabel(text, objectName=name, wordWrap=True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def _buttons(self) -> QDialogButtonBox:
        box = QDialogButtonBox()
        role = QDialogButtonBox.ButtonRole
        if self.problem.restore is not None:
            when = next((w for p, w in self.problem.backups if p == self.problem.restore), None)
            text = (f"Restore backup ({when.astimezone():%b %d, %H:%M})" if when
                    else "Restore newest backup")
            self._add(box, text, "restoreBackupButton", role.AcceptRole, "restore")
        if self.problem.retry:
            self._add(box, "Retry", "retryButton", role.AcceptRole, "retry")
        if self._offer_other:
            other = self._add(box, "Open another workspace…", "openOtherWorkspaceButton",
                              role.ActionRole, None)
            other.clicked.connect(self._open_other)
        if self.log_dir is not None:
            logs = self._add(box, "Open log folder", "openLogFolderButton", role.ActionRole,
                             None)
            logs.clicked.connect(self._open_logs)
        self._add(box, "Quit", "quitButton", role.RejectRole, "quit")
        return box

    def _add(self, box: QDialogButtonBox, text: str, name: str, role, choice):
        button = box.addButton(text, role)
        button.setObjectName(name)
        if choice is not None:
            button.clicked.connect(lambda: self._choose(choice))
        return button

    def _choose(self, choice) -> None:
        self._timer.stop()
        self.choice = choice
        (self.reject if choice == "quit" else self.accept)()

    def reject(self) -> None:  # Escape / window close: quit
        self._timer.stop()
        self.choice = "quit" if self.choice in ("quit", None) else self.choice
        super().reject()

    def _show_countdown(self) -> None:
        self.countdown.setText(f"Trying again in {self._left} s…")

    def _tick(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._choose("retry")
        else:
            self._show_countdown()

    def _open_other(self) -> None:
        self._timer.stop()
        name, _filter = QFileDialog.getOpenFileName(
            self, "Open another workspace", str(Path.home()),
            "OpenTrain Desk workspaces (*.sqlite);;All files (*)")
        if name:
            self._choose(Path(name))
        elif self.problem.retry:
            self._timer.start()

    def _open_logs(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_dir)))


def present(problem: Problem, log_dir: Path | None = None, open_other: bool = True):
    """Show the dialog (modal: the main window does not exist yet) and return the choice;
    without a screen, ``"quit"`` (the message went to stderr already)."""
    if not interactive():
        return "quit"
    dialog = ProblemDialog(problem, log_dir, open_other=open_other)
    dialog.exec()
    return dialog.choice
