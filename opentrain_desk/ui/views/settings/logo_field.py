"""Settings → Company → Logo: PNG, JPEG or SVG, size-checked, printed on invoice PDFs.

The chosen file is checked and copied (as a PNG, at most 800 px) into the per-user data
folder, so invoices keep their logo when the original moves; SVG is drawn to PNG here
because the PDF renderer reads bitmaps."""
from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QImageReader, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from ....domain.errors import DomainError
from ....services import workspace_settings
from ...context import AppContext
from ...ops import user_message
from .common import repolish

if TYPE_CHECKING:
    from ....services.unit_of_work import UnitOfWorkFactory

MAX_BYTES = 2 * 1024 * 1024
MAX_SIDE = 800
FORMATS = (".png", ".jpg", ".jpeg", ".svg")
NAME_FILTER = "Logo images (*.png *.jpg *.jpeg *.svg)"


class LogoRejected(DomainError):
    """The chosen file cannot be used as a logo (the message says why)."""


def _read(source: Path) -> QImage:
    if source.suffix.lower() == ".svg":
        renderer = QSvgRenderer(str(source))
        if not renderer.isValid():
            raise LogoRejected(f"{source.name} is not a readable SVG image.")
        size = renderer.defaultSize()
        if size.isEmpty():
            size = QSize(MAX_SIDE, MAX_SIDE)
        size.scale(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio)
        image = QImage(size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        return image
    reader = QImageReader(str(source))
    image = reader.read()
    if image.isNull():
        raise LogoRejected(f"{source.name} is not a readable image ({reader.errorString()}).")
    return image


def prepare_logo(source: Path, target: Path) -> Path:
    """Check ``source`` and write it to ``target`` as a PNG (atomic); the path written."""
    if source.suffix.lower() not in FORMATS:
        raise LogoRejected("Choose a PNG, JPEG or SVG file for the logo.")
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise LogoRejected(f"{source.name} cannot be read ({exc.strerror}).") from None
    if size > MAX_BYTES:
        raise LogoRejected(f"{source.name} is {size / 1024 / 1024:.1f} MB; a logo can be "
                           "2 MB at most.")
    image = _read(source)
    if min(image.width(), image.height()) < 16:
        raise LogoRejected(f"{source.name} is too small ({image.width()}×{image.height()} "
                           "px); use at least 16 px on each side.")
    if max(image.width(), image.height()) > MAX_SIDE:
        image = image.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".logo.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        if not image.save(tmp, "PNG"):
            raise LogoRejected("The logo could not be saved; check the free disk space.")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


class LogoField(QWidget):
    """Preview, Choose… and Remove; work on files and the database runs off the GUI thread."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.target = ctx.settings.home / "company-logo.png"
        self.preview = QLabel(objectName="logoPreviewLabel")
        self.preview.setFixedSize(120, 48)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.status = QLabel(objectName="logoStatusLabel", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setProperty("role", "hint")
        self.choose = QPushButton("Choose…", objectName="chooseLogoButton")
        self.choose.setToolTip("PNG, JPEG or SVG, at most 2 MB")
        self.remove = QPushButton("Remove", objectName="removeLogoButton")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.preview, self.choose, self.remove):
            layout.addWidget(widget)
        layout.addWidget(self.status, 1)
        self.choose.clicked.connect(self.open_dialog)
        self.remove.clicked.connect(self.clear)
        self._show("")

    def load(self) -> None:
        self.ctx.db.run(self, partial(workspace_settings.current_logo, self.ctx.uow),
                        self._show)

    def _show(self, path: str) -> None:
        pixmap = QPixmap(path) if path else QPixmap()
        self.preview.setPixmap(pixmap.scaled(self.preview.size(),
                                             Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation)
                               if not pixmap.isNull() else QPixmap())
        self.preview.setText("" if not pixmap.isNull() else "No logo")
        self.remove.setEnabled(bool(path))
        self.status.setProperty("role", "hint")
        self.status.setText("Printed at the top of every invoice PDF." if path else
                            "PNG, JPEG or SVG, at most 2 MB; printed on invoice PDFs.")
        self._repolish()

    def open_dialog(self) -> None:
        dialog = QFileDialog(self.window(), "Choose the company logo")
        dialog.setObjectName("chooseLogoFileDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter(NAME_FILTER)
        dialog.fileSelected.connect(self.use_file)
        dialog.open()

    def use_file(self, path: str) -> None:
        self.choose.setEnabled(False)
        self.ctx.db.run(self, partial(store_logo, self.ctx.uow, Path(path), self.target),
                        self._stored, self._failed)

    def clear(self) -> None:
        self.ctx.db.run(self, partial(workspace_settings.set_logo, self.ctx.uow, ""),
                        self._stored, self._failed)

    def _stored(self, path: str) -> None:
        self.choose.setEnabled(True)
        self._show(path)
        if path:
            self.status.setText("Saved. Printed at the top of every invoice PDF.")

    def _failed(self, error: BaseException) -> None:
        self.choose.setEnabled(True)
        self.status.setText(user_message(error))
        self.status.setProperty("role", "error")
        self._repolish()

    def _repolish(self) -> None:
        repolish(self.status)


def store_logo(factory: UnitOfWorkFactory, source: Path, target: Path) -> str:
    """Off the GUI thread: check and copy the image, then record it (audited)."""
    return workspace_settings.set_logo(factory, str(prepare_logo(source, target)))
