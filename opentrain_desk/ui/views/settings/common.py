"""Small widget helpers shared by the Settings sections."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ....services.ports import PaymentGateway
from ...context import AppContext

CONNECT_FIRST = "Connect Stripe first: save an API key in the Stripe section above"


def label(text: str = "", name: str = "", role: str = "") -> QLabel:
    widget = QLabel(text, objectName=name, wordWrap=True)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    if role:
        widget.setProperty("role", role)
    return widget


def repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def set_role(widget: QLabel, role: str) -> None:
    if widget.property("role") != role:
        widget.setProperty("role", role)
        repolish(widget)


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    if bool(widget.property("invalid")) != invalid:
        widget.setProperty("invalid", invalid)
        repolish(widget)


def button(text: str, name: str, tip: str = "") -> QPushButton:
    widget = QPushButton(text, objectName=name, toolTip=tip)
    widget.setAccessibleName(text.replace("&&", "&").rstrip("…"))
    return widget


def button_row(*buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in buttons:
        row.addWidget(widget)
    row.addStretch()
    return row


def gateway(ctx: AppContext) -> PaymentGateway | None:
    """The Stripe gateway, or None; call it only where the key is already loaded (or off
    the GUI thread): loading reads the OS keyring."""
    return ctx.stripe.gateway() if ctx.stripe is not None else None
