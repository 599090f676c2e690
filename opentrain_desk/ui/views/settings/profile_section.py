"""Settings → You: the name shown for what you do (e.g. "Approved by")."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QWidget)

from ....services import people, team
from ...context import AppContext
from ...ops import user_message


class ProfileSection(QGroupBox):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("You", parent, objectName="profileGroup")
        self.ctx = ctx
        self.name_edit = QLineEdit(objectName="yourNameEdit", placeholderText="Full name")
        self.name_edit.setAccessibleName("Your name")
        self.save_button = QPushButton("Save name", objectName="saveYourNameButton")
        self.status = QLabel(objectName="yourNameStatusLabel", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setProperty("role", "hint")
        self.status.setText(f"Shown as “Approved by” for what you approve (you are signed "
                            f"in as {ctx.settings.actor}).")
        row = QHBoxLayout()
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.save_button)
        form = QFormLayout(self)
        form.addRow("Your name:", row)
        form.addRow(self.status)
        self.save_button.clicked.connect(self.save)
        self.name_edit.returnPressed.connect(self.save)

    def load(self) -> None:
        factory = self.ctx.uow
        self.ctx.db.run(self, lambda: people.my_name(factory()), self._loaded)
        self.ctx.db.run(self, lambda: team.whoami(factory), self._signed_in)

    def _signed_in(self, member) -> None:
        """``Signed in as Dana Finance (Finance)``: the member and their role."""
        self.status.setText(f"Signed in as {member.name} ({member.role.label}, login "
                            f"{member.login}). Your name is shown as “Approved by” for what "
                            "you approve.")

    def _loaded(self, name: str) -> None:
        if not self.name_edit.text():
            self.name_edit.setText(name)

    def save(self) -> None:
        factory, name = self.ctx.uow, self.name_edit.text()
        self.save_button.setEnabled(False)
        self.ctx.db.run(self, lambda: people.set_my_name(factory(), name), self._saved,
                        self._failed)

    def _saved(self, name: str) -> None:
        self.save_button.setEnabled(True)
        self.name_edit.setText(name)
        self.status.setText(f"Saved. What you approve shows “{name}”.")

    def _failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.status.setText(user_message(error))
