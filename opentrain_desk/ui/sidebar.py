"""The left sidebar: the product's areas (Jobs, Reports, Notifications, Settings).

Each entry mirrors one of the window's area actions (``actionJobs`` …): clicking it, or
Enter/Space on it, triggers the action, and the action's checked state is what the sidebar
shows as the current area, so shortcuts and menus stay the one source of truth.
Keyboard: the sidebar is one Tab stop (the current area, or the entry last moved to);
Up/Down/Home/End move between entries, Enter or Space opens one. Colours come from the
palette, so it reads in the light and dark themes.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QAction, QColor, QFont, QKeyEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QAbstractButton, QFrame, QLabel, QVBoxLayout, QWidget

WIDTH = 184      # preferred; a narrow window (1024 px with a job open) squeezes it down to
MIN_WIDTH = 120  # this, eliding the labels; narrower still, the window hides it (the areas
                 # stay in View and on Ctrl+1..4): it never sets the window's minimum width
ROW_HEIGHT = 36
Role = QPalette.ColorRole


def _tint(colour: QColor, base: QColor, amount: float) -> QColor:
    """``colour`` laid over ``base`` at ``amount`` opacity."""
    mix = [base.redF(), base.greenF(), base.blueF()]
    top = [colour.redF(), colour.greenF(), colour.blueF()]
    return QColor.fromRgbF(*(b + (t - b) * amount for b, t in zip(mix, top, strict=True)))


def background(palette: QPalette) -> QColor:
    """The sidebar's fill: a shade darker than the window, in either theme."""
    window = palette.color(Role.Window)
    return window.darker(125) if window.lightness() < 128 else window.darker(104)


class SidebarButton(QAbstractButton):
    """One area: its name, a count pill (Notifications) and the current-area marker."""

    def __init__(self, text: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setText(text)
        self.setAccessibleName(text)
        self.setCheckable(True)  # "selected" for screen readers; checked only by the action
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.badge = 0
        self.action: QAction | None = None

    def bind(self, action: QAction) -> None:
        self.action = action
        self.setToolTip(action.toolTip())
        self.setChecked(action.isChecked())
        action.toggled.connect(self.setChecked)
        self.clicked.connect(action.trigger)

    def nextCheckState(self) -> None:  # a click asks the action; the action says what is current
        pass

    def set_badge(self, count: int) -> None:
        self.badge = max(0, count)
        name = self.text()
        self.setAccessibleName(f"{name}, {count} need you" if count else name)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(WIDTH - 16, ROW_HEIGHT)

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_WIDTH - 16, ROW_HEIGHT)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.click()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, _event: QPaintEvent) -> None:
        palette, rect = self.palette(), QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        back = background(palette)
        highlight = palette.color(Role.Highlight)
        painter.setPen(Qt.PenStyle.NoPen)
        if self.isChecked():
            painter.setBrush(_tint(highlight, back, 0.18))
            painter.drawRoundedRect(rect, 6, 6)
            painter.setBrush(highlight)
            painter.drawRoundedRect(QRectF(rect.left(), rect.top() + 7, 3, rect.height() - 14),
                                    1.5, 1.5)
        elif self.underMouse() or self.isDown():
            painter.setBrush(_tint(palette.color(Role.Text), back, 0.07))
            painter.drawRoundedRect(rect, 6, 6)
        if self.hasFocus():
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(highlight)
            painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        font = QFont(self.font())
        font.setWeight(QFont.Weight.DemiBold if self.isChecked() else QFont.Weight.Normal)
        painter.setFont(font)
        painter.setPen(palette.color(Role.WindowText))
        text_rect = rect.adjusted(14, 0, -8, 0)
        if self.badge:
            text_rect.setRight(self._paint_badge(painter, rect) - 6)
        elided = painter.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                                  int(text_rect.width()))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter, elided)
        painter.end()

    def _paint_badge(self, painter: QPainter, rect: QRectF) -> float:
        text = str(self.badge) if self.badge < 100 else "99+"
        font = QFont(self.font())
        font.setWeight(QFont.Weight.DemiBold)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.save()
        painter.setFont(font)
        metrics = painter.fontMetrics()
        height = metrics.height() + 2
        width = max(height, metrics.horizontalAdvance(text) + 12)
        pill = QRectF(rect.right() - 10 - width, rect.center().y() - height / 2, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#DC2626"))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setPen(QColor("#FFFFFF"))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
        return pill.left()


class Sidebar(QFrame):
    """The areas in a column; :meth:`bind` ties an entry to its action."""

    def __init__(self, title: str, areas: tuple[tuple[str, str], ...],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAccessibleName("Areas")
        self.setMaximumWidth(WIDTH)
        heading = QLabel(title, objectName="sidebarTitle")
        font = QFont(heading.font())
        font.setWeight(QFont.Weight.DemiBold)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        heading.setFont(font)
        heading.setContentsMargins(6, 0, 0, 0)
        self.buttons: dict[str, SidebarButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 12, 8, 12)
        layout.setSpacing(2)
        heading.setMinimumWidth(0)
        layout.addWidget(heading)
        layout.addSpacing(8)
        for text, action_name in areas:
            button = SidebarButton(text, "sidebar" + action_name.removeprefix("action") +
                                   "Button", self)
            button.installEventFilter(self)
            self.buttons[action_name] = button
            layout.addWidget(button)
        layout.addStretch(1)
        self._tab_stop(next(iter(self.buttons.values())))

    def bind(self, action_name: str, action: QAction) -> None:
        button = self.buttons[action_name]
        button.bind(action)
        action.toggled.connect(lambda on, b=button: on and self._tab_stop(b))
        if action.isChecked():
            self._tab_stop(button)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 0)

    def set_badge(self, action_name: str, count: int) -> None:
        self.buttons[action_name].set_badge(count)

    def current(self) -> SidebarButton | None:
        return next((b for b in self.buttons.values() if b.isChecked()), None)

    # -- keyboard -----------------------------------------------------------------------
    def _tab_stop(self, button: SidebarButton) -> None:
        """Only one entry takes Tab focus (roving tab stop)."""
        for other in self.buttons.values():
            other.setFocusPolicy(Qt.FocusPolicy.StrongFocus if other is button
                                 else Qt.FocusPolicy.ClickFocus)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == event.Type.KeyPress and watched in self.buttons.values():
            order = list(self.buttons.values())
            index = order.index(watched)
            target = {Qt.Key.Key_Up: index - 1, Qt.Key.Key_Down: index + 1,
                      Qt.Key.Key_Home: 0, Qt.Key.Key_End: len(order) - 1}.get(event.key())
            if target is not None:
                button = order[max(0, min(len(order) - 1, target))]
                self._tab_stop(button)
                button.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
        return super().eventFilter(watched, event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), background(self.palette()))
        painter.setPen(self.palette().color(Role.Mid))
        painter.drawLine(self.width() - 1, 0, self.width() - 1, self.height())
        painter.end()
        super().paintEvent(event)
