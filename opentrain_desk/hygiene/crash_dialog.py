"""The crash dialog (``crash.CrashHandler`` shows it): loaded only when something broke."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout,
                               QWidget)

from ..config import APP_NAME

__all__ = ["CrashDialog"]


class CrashDialog(QDialog):
    """Tells the user something broke; offers the redacted report and the log folder."""

    def __init__(self, report: str, log_dir: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle(f"{APP_NAME} — unexpected error")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.log_dir = log_dir
        intro = QLabel(
            "Something went wrong that OpenTrain Desk did not expect. Everything saved "
            "before the error is kept, and a payment that was in progress is finished or "
            "retried by the next sync.\n\nIf it keeps happening, copy the report below "
            "(secrets are removed from it) and send it to your support contact.",
            wordWrap=True, objectName="crashIntroLabel")
        self.report_edit = QPlainTextEdit(report, objectName="crashReportText", readOnly=True)
        self.report_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.report_edit.setMinimumSize(620, 260)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setObjectName("closeCrashButton")
        copy = buttons.addButton("Copy report", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("copyReportButton")
        copy.clicked.connect(self.copy_report)
        if log_dir is not None:
            logs = buttons.addButton("Open log folder", QDialogButtonBox.ButtonRole.ActionRole)
            logs.setObjectName("openLogFolderButton")
            logs.clicked.connect(self._open_logs)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.report_edit, 1)
        layout.addWidget(buttons)

    def report(self) -> str:
        return self.report_edit.toPlainText()

    def append_report(self, report: str) -> None:
        self.report_edit.appendPlainText("\n— another error —\n" + report)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report())

    def _open_logs(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_dir)))
