"""Light and dark palettes that follow the OS colour scheme (and its changes while running).

The scheme comes from ``QStyleHints.colorScheme()`` (Qt ≥ 6.5); when the platform does not
say (``Unknown``), from the lightness of the platform's own palette at start-up.
``OPENTRAIN_DESK_THEME=light|dark`` overrides both for one launch; otherwise the choice in
Settings → Appearance (``ThemeController.preference``) does.

Windows and Linux use the Fusion style with the palettes below, so colours are the same
everywhere and do not depend on the desktop's widget theme; macOS keeps its native style,
which follows the system appearance by itself. ``resources/style.qss`` is written to read
on both palettes; :data:`DARK_QSS` only re-tints its few hard-coded light backgrounds.
"""
from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from ..resources import resource_path

__all__ = ["DARK_QSS", "ThemeController", "apply_theme", "base_stylesheet", "build_palette",
           "detect_scheme", "theme_override"]

log = logging.getLogger(__name__)
Role, Group = QPalette.ColorRole, QPalette.ColorGroup

_COLOURS = {
    "light": {
        Role.Window: "#F4F6F8", Role.WindowText: "#1F2933", Role.Base: "#FFFFFF",
        Role.AlternateBase: "#F3F5F9", Role.Text: "#1F2933", Role.Button: "#ECEFF3",
        Role.ButtonText: "#1F2933", Role.BrightText: "#FFFFFF", Role.Highlight: "#2563EB",
        Role.HighlightedText: "#FFFFFF", Role.Link: "#1D4ED8", Role.LinkVisited: "#6D28D9",
        Role.ToolTipBase: "#FFFFFF", Role.ToolTipText: "#1F2933",
        Role.PlaceholderText: "#6B7280", Role.Light: "#FFFFFF", Role.Midlight: "#E5E8ED",
        Role.Mid: "#C5CBD3", Role.Dark: "#9AA3AE", Role.Shadow: "#5B6472",
    },
    "dark": {
        Role.Window: "#1E2227", Role.WindowText: "#E6E8EB", Role.Base: "#15181C",
        Role.AlternateBase: "#1C2026", Role.Text: "#E6E8EB", Role.Button: "#2A2F36",
        Role.ButtonText: "#E6E8EB", Role.BrightText: "#FFFFFF", Role.Highlight: "#3B82F6",
        Role.HighlightedText: "#FFFFFF", Role.Link: "#7DB3FF", Role.LinkVisited: "#C4B5FD",
        Role.ToolTipBase: "#2A2F36", Role.ToolTipText: "#E6E8EB",
        Role.PlaceholderText: "#8B95A1", Role.Light: "#3A4048", Role.Midlight: "#30353D",
        Role.Mid: "#23272D", Role.Dark: "#121417", Role.Shadow: "#000000",
    },
}
_DISABLED = {"light": "#9AA3AE", "dark": "#6B7480"}

#: Appended to the stylesheet in dark mode: same selectors as style.qss, darker fills.
DARK_QSS = """
/* dark palette re-tints (opentrain_desk/hygiene/palette.py) */
QLabel[role="error"] { color: #FECACA; background: #3B1618; border: 1px solid #7F1D1D; }
QLabel[role="banner"] { color: #FDE68A; background: #362A0A; border: 1px solid #A16207; }
QLabel[role="warning"] { color: #FCD34D; }
QLabel[role="mode"][mode="test"] { background: #78350F; color: #FEF3C7; }
QLabel[role="mode"][mode="live"] { background: #14532D; color: #DCFCE7; }
QLabel[role="mode"][mode="none"] { background: #374151; color: #E5E7EB; }
"""


def build_palette(scheme: str) -> QPalette:
    palette = QPalette()
    for role, colour in _COLOURS[scheme].items():
        palette.setColor(role, QColor(colour))
    disabled = QColor(_DISABLED[scheme])
    for role in (Role.WindowText, Role.Text, Role.ButtonText, Role.PlaceholderText):
        palette.setColor(Group.Disabled, role, disabled)
    palette.setColor(Group.Disabled, Role.Highlight, QColor(_COLOURS[scheme][Role.Mid]))
    return palette


def _is_dark(palette: QPalette) -> bool:
    return palette.color(Role.Window).lightness() < 128


def theme_override() -> str:
    """``OPENTRAIN_DESK_THEME`` when it names a scheme, else ``""``."""
    forced = os.environ.get("OPENTRAIN_DESK_THEME", "").strip().lower()
    return forced if forced in _COLOURS else ""


def detect_scheme(app: QGuiApplication, platform_palette: QPalette | None = None,
                  preference: str = "") -> str:
    """``"light"`` or ``"dark"``: the override, else the user's preference, else the OS
    setting, else the palette."""
    forced = theme_override() or (preference if preference in _COLOURS else "")
    if forced:
        return forced
    hints = app.styleHints()
    if hasattr(hints, "colorScheme"):  # Qt >= 6.5
        scheme = hints.colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return "dark"
        if scheme == Qt.ColorScheme.Light:
            return "light"
    return "dark" if _is_dark(platform_palette or app.palette()) else "light"


def base_stylesheet() -> str:
    """``resources/style.qss`` (empty if missing)."""
    style = resource_path("style.qss")
    return style.read_text(encoding="utf-8") if style.exists() else ""


class ThemeController(QObject):
    """Applies the palette now and again whenever the OS scheme changes."""

    def __init__(self, app: QGuiApplication) -> None:
        super().__init__(app)
        self.app = app
        self.native = sys.platform == "darwin"
        self._platform_palette = QPalette(app.palette())
        self._base_qss = base_stylesheet()
        self.scheme = ""
        self.preference = ""  # "light" | "dark" | "" (follow the system), from Settings
        hints = app.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self.apply)

    def apply(self, *_args) -> str:
        scheme = detect_scheme(self.app, self._platform_palette, self.preference)
        if scheme == self.scheme:
            return scheme
        self.scheme = scheme
        if not self.native:
            if self.app.style().name().lower() != "fusion":
                self.app.setStyle("Fusion")
            self.app.setPalette(build_palette(scheme))
        self.app.setStyleSheet(self._base_qss + (DARK_QSS if scheme == "dark" else ""))
        log.info("colour scheme: %s", scheme)
        return scheme


def apply_theme(app: QGuiApplication) -> ThemeController:
    """Style, palette and stylesheet for ``app``; keeps following the OS (parented to app).
    One controller per app: an earlier one (an earlier window in the same process) goes, so
    Settings → Appearance always talks to the one in charge."""
    for earlier in app.findChildren(ThemeController):
        earlier.setParent(None)
        earlier.deleteLater()
    controller = ThemeController(app)
    controller.apply()
    return controller


#: Where the user's choice (Settings → Appearance) is remembered in the layout memory.
THEME_KEY = "appearance/theme"


def theme_controller() -> ThemeController | None:
    app = QGuiApplication.instance()
    return app.findChild(ThemeController) if app is not None else None


def apply_preference(preference: str) -> None:
    """Apply the user's choice now (no-op where the app runs without a theme, e.g. tests)."""
    controller = theme_controller()
    if controller is not None:
        controller.preference = preference
        controller.apply()
