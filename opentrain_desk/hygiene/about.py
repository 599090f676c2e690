"""About dialog (objectName ``aboutDialog``): version, runtime, licences of what is bundled."""
from __future__ import annotations

import platform
import sys
from html import escape
from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QTextBrowser,
                               QVBoxLayout, QWidget)

from .. import __version__
from ..config import APP_NAME
from ..resources import resource_path

__all__ = ["COMPONENTS", "AboutDialog", "runtime_summary", "show_about"]

#: (display name, distribution for the version, SPDX licence, home page)
COMPONENTS: tuple[tuple[str, str | None, str, str], ...] = (
    ("Qt for Python (PySide6) and Qt", "PySide6_Essentials", "LGPL-3.0-only",
     "https://www.qt.io/qt-for-python"),
    ("SQLAlchemy", "SQLAlchemy", "MIT", "https://www.sqlalchemy.org"),
    ("Alembic", "alembic", "MIT", "https://alembic.sqlalchemy.org"),
    ("stripe-python", "stripe", "MIT", "https://github.com/stripe/stripe-python"),
    ("ReportLab", "reportlab", "BSD-3-Clause", "https://www.reportlab.com/opensource/"),
    ("keyring", "keyring", "MIT", "https://github.com/jaraco/keyring"),
    ("platformdirs", "platformdirs", "MIT", "https://github.com/tox-dev/platformdirs"),
    ("DejaVu fonts 2.37", None, "Bitstream Vera Fonts licence (DejaVu changes: "
     "public domain)", "https://dejavu-fonts.github.io/License.html"),
)


def _version(dist: str | None) -> str:
    if dist is None:
        return ""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def runtime_summary() -> str:
    """One line: Python, Qt and PySide6 versions, platform, source or frozen build."""
    from PySide6 import __version__ as pyside
    from PySide6.QtCore import qVersion
    build = "frozen build" if getattr(sys, "frozen", False) else "source"
    return (f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside} · "
            f"{platform.system()} {platform.machine()} · {build}")


def _licences_html() -> str:
    rows = "".join(
        f"<tr><td><a href='{url}'>{escape(name)}</a></td><td>{escape(_version(dist))}</td>"
        f"<td>{escape(spdx)}</td></tr>" for name, dist, spdx, url in COMPONENTS)
    return (
        "<p><b>Bundled open-source components</b></p>"
        "<table cellspacing='0' cellpadding='3'>"
        "<tr><th align='left'>Component</th><th align='left'>Version</th>"
        f"<th align='left'>Licence</th></tr>{rows}</table>"
        "<p>Qt and Qt for Python are used under the GNU Lesser General Public License "
        "v3. They are shipped as separate, unmodified shared libraries in the application "
        "folder, which you may replace with your own build; their source code is available "
        "from <a href='https://download.qt.io/official_releases/'>download.qt.io</a>.</p>"
        "<p>The Stripe sandbox used by developers (localstripe, GPL-3.0) is <b>not</b> "
        "bundled with this application.</p>")


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        icon = QLabel(objectName="aboutIcon")
        pixmap = QPixmap(str(resource_path("icons", "opentrain-desk-128.png")))
        if not pixmap.isNull():
            icon.setPixmap(pixmap.scaled(
                96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
        title = QLabel(f"{APP_NAME} {__version__}", objectName="aboutTitleLabel")
        title.setProperty("role", "title")
        blurb = QLabel("Milestone contracts, funding and payouts for agencies that hire "
                       "AI trainers.", wordWrap=True)
        self.runtime = QLabel(runtime_summary(), objectName="aboutRuntimeLabel", wordWrap=True)
        self.runtime.setProperty("role", "hint")
        self.runtime.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.licences = QTextBrowser(objectName="aboutLicences", openExternalLinks=True)
        self.licences.setHtml(_licences_html())
        self.licences.setMinimumSize(600, 360)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy version info", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("copyVersionButton")
        copy.clicked.connect(self.copy_version)
        buttons.rejected.connect(self.reject)
        header = QVBoxLayout()
        header.addWidget(title)
        header.addWidget(blurb)
        header.addWidget(self.runtime)
        top = QHBoxLayout()
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(header, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.licences, 1)
        layout.addWidget(buttons)

    def version_text(self) -> str:
        return f"{APP_NAME} {__version__} — {runtime_summary()}"

    def copy_version(self) -> None:
        QGuiApplication.clipboard().setText(self.version_text())


def show_about(parent: QWidget | None = None) -> AboutDialog:
    """Open the About dialog without blocking (``open()``); it deletes itself on close."""
    dialog = AboutDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
