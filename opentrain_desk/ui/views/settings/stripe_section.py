"""Settings → Stripe: the connection mode and (outside the sandbox) the key.

A pasted key leaves the edit as soon as it has been verified (or refused): it lives on
only in the OS keyring. Verifying and removing run on ``ctx.net``; reading the saved
key's masked hint runs on ``ctx.db``.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout,
                               QWidget)

from ....services.ports import KeyInfo, StripeLink
from ...context import AppContext
from ...ops import user_message
from ...widgets.messages import confirm
from .common import button, label, mark_invalid, repolish, set_role

SAVE_KEY_TEXT = "Verify && save"  # "&&": a literal ampersand, not a mnemonic


def mode_text(ctx: AppContext) -> str:
    stripe = ctx.stripe
    if stripe is not None and stripe.is_sandbox:
        return "Sandbox — embedded Stripe emulator, no key needed"
    return {"test": "Test mode", "live": "Live mode"}.get(
        (stripe.mode if stripe else None) or "", "Not connected")


class StripeSection(QGroupBox):
    """Connection mode, and (outside the sandbox) the key: verify & save, or remove."""

    changed = Signal()  # a key was saved or removed

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Stripe", parent, objectName="stripeGroup")
        self.ctx = ctx
        self._has_key = False
        self.mode_label = label(name="stripeConnectionLabel")
        self.mode_label.setWordWrap(False)  # a badge: one line
        self.mode_label.setProperty("role", "mode")
        self.mode_label.setAccessibleName("Stripe mode")
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Mode:"))
        mode_row.addWidget(self.mode_label)
        mode_row.addStretch()
        layout.addLayout(mode_row)
        if ctx.stripe is None or ctx.stripe.is_sandbox:
            layout.addWidget(label(
                "This workspace talks to a Stripe emulator running inside the app. Payments, "
                "cards and payouts are simulated; no real money moves." if ctx.stripe else
                "Stripe is not configured for this workspace.", role="hint"))
        else:
            self._build_key_form(layout, ctx.stripe)
        self.update_mode()

    def _build_key_form(self, layout: QVBoxLayout, connection: StripeLink) -> None:
        self.connection = connection
        self.problem_label = label(connection.keyring_problem, "stripeKeyringProblemLabel",
                                   "banner")
        self.problem_label.setVisible(bool(connection.keyring_problem))
        self.key_edit = QLineEdit(objectName="stripeKeyEdit",
                                  placeholderText="sk_live_… / sk_test_… / rk_…")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("Stripe secret key")
        self.key_edit.setClearButtonEnabled(True)
        self.save_button = button(SAVE_KEY_TEXT, "saveStripeKeyButton",
                                  "Check the key with Stripe, then store it in the OS keyring")
        self.remove_button = button("Remove key…", "removeStripeKeyButton",
                                    "Delete the key from this computer's keyring")
        self.status_label = label("Checking…", "stripeKeyStatusLabel", "hint")
        self.status_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        note = label("Recommended: a restricted key (rk_…) that allows only what OpenTrain "
                     "Desk uses — Customers, PaymentMethods, PaymentIntents, Checkout "
                     "Sessions, Connect accounts and Transfers. The key is verified with "
                     "Stripe, then kept only in this computer's keyring, never in the "
                     "database or the logs.", "stripeKeyNoteLabel", "hint")
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.save_button)
        layout.addWidget(self.problem_label)
        layout.addWidget(QLabel("Secret or restricted API key:", buddy=self.key_edit))
        layout.addLayout(key_row)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(status_row)
        layout.addWidget(note)
        self.key_edit.textChanged.connect(self._key_typed)
        self.key_edit.returnPressed.connect(self.save_key)
        self.save_button.clicked.connect(self.save_key)
        self.remove_button.clicked.connect(self.confirm_remove)
        self._set_busy(False)

    # -- state --------------------------------------------------------------------------
    @property
    def has_key_form(self) -> bool:
        return hasattr(self, "connection")

    def update_mode(self) -> None:
        stripe = self.ctx.stripe
        mode = "test" if stripe and stripe.is_sandbox else (stripe.mode if stripe else None)
        self.mode_label.setText(mode_text(self.ctx))
        self.mode_label.setProperty("mode", mode or "none")
        repolish(self.mode_label)

    def refresh(self) -> None:
        """Re-read the masked key hint (a database read) and show the key's status."""
        self.update_mode()
        if self.has_key_form:
            self.ctx.db.run(self, partial(_key_hint, self.connection), self._show_status,
                            lambda error: self._show_error(user_message(error), False))

    def _show_status(self, hint: str | None) -> None:
        problem = self.connection.keyring_problem
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
        self.update_mode()
        mode = self.connection.mode
        self._has_key = bool(hint) or mode is not None
        if hint and mode:
            text = f"Saved key {hint} ({mode} mode), stored in the OS keyring."
        elif hint:
            text = (f"The saved key {hint} is not in the OS keyring any more. Paste it again "
                    "to reconnect.")
        else:
            text = "No key saved: Stripe is not connected."
        set_role(self.status_label, "hint")
        self.status_label.setText(text)
        self._set_busy(False)

    def _show_error(self, message: str, key_refused: bool = True) -> None:
        set_role(self.status_label, "error")  # before setText: padding changes its size
        self.status_label.setText(message)
        mark_invalid(self.key_edit, key_refused)

    def _key_typed(self, text: str) -> None:
        mark_invalid(self.key_edit, False)
        self.save_button.setEnabled(bool(text.strip()))

    def _set_busy(self, busy: bool, verifying: bool = False) -> None:
        self.save_button.setText("Verifying…" if verifying else SAVE_KEY_TEXT)
        self.save_button.setEnabled(not busy and bool(self.key_edit.text().strip()))
        self.key_edit.setEnabled(not busy)
        self.remove_button.setEnabled(not busy and self._has_key)

    # -- save / remove ------------------------------------------------------------------
    def save_key(self) -> None:
        key = self.key_edit.text()
        if not key.strip() or not self.save_button.isEnabled():
            return
        self._set_busy(True, verifying=True)
        self.ctx.net.run(self, partial(self.connection.save_key, key), self._saved,
                         self._save_failed)

    def _saved(self, _info: KeyInfo) -> None:
        self.key_edit.clear()  # the key lives on only in the keyring
        self.refresh()
        self.changed.emit()

    def _save_failed(self, error: BaseException) -> None:
        self.key_edit.clear()  # a refused key does not linger either
        self._set_busy(False)
        self._show_error(user_message(error))
        self.key_edit.setFocus()

    def confirm_remove(self) -> None:
        confirm(self.window(), "confirmRemoveStripeKey", "Remove Stripe key",
                "Remove the Stripe key from this computer's keyring? Stripe stays "
                "disconnected until a key is saved again; queued payments wait.",
                "Remove key", self._remove)

    def _remove(self) -> None:
        self._set_busy(True)
        self.ctx.net.run(self, self.connection.remove_key, self._removed,
                         self._remove_failed)

    def _removed(self, _result: Any) -> None:
        self.refresh()
        self.changed.emit()

    def _remove_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self._show_error(user_message(error), key_refused=False)


def _key_hint(connection: StripeLink) -> str | None:
    """Off the GUI thread: load the key from the keyring, then read its masked hint."""
    connection.gateway()
    return connection.key_hint()
