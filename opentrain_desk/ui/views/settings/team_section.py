"""Settings → Team: who works in this workspace, with which role (Owner-only changes).

The list and every change run on ``ctx.db`` through ``services.team_admin`` (which checks
the role, keeps one Owner and audits); the members' database logins are the
``ctx.team_admin`` port's. A solo workspace says so, and how to move it to a team server.
"""
from __future__ import annotations

import enum
from functools import partial

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHeaderView, QTableView,
                               QVBoxLayout, QWidget)

from ....config import plain_sqlite_file
from ....domain.roles import Role
from ....services import team_admin
from ....services.team import Member
from ...context import AppContext
from ...ops import user_message
from .common import button, button_row, label
from .team_dialogs import AddMemberDialog, PasswordDialog, role_combo

SOLO = ("This workspace is solo: one file on this computer, and you are its Owner. To work "
        "as a team, move it to a PostgreSQL server (everything, invoices and numbering "
        "included), then add members here:\n"
        "    opentrain-desk team migrate --from {path} --to postgresql+psycopg://LOGIN@HOST/DB")


class Col(enum.IntEnum):
    NAME, LOGIN, ROLE, ACTIVE = range(4)


class MembersModel(QAbstractTableModel):
    HEADERS = {Col.NAME: "Name", Col.LOGIN: "Login", Col.ROLE: "Role", Col.ACTIVE: "Active"}

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.members: list[Member] = []

    def set_members(self, members: list[Member]) -> None:
        self.beginResetModel()
        self.members = list(members)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.members)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Col)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(Col)):
            return self.HEADERS[Col(section)]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.members):
            return None
        member, column = self.members[index.row()], Col(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return {Col.NAME: member.name, Col.LOGIN: member.login, Col.ROLE: member.role.label,
                    Col.ACTIVE: "Yes" if member.active else "No — deactivated"}[column]
        if role == Qt.ItemDataRole.UserRole:
            return member
        return None


class TeamSection(QGroupBox):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Team", parent, objectName="teamGroup")
        self.ctx = ctx
        self.model = MembersModel(self)
        self.table = QTableView(objectName="teamTable")
        self.table.setAccessibleName("Team members")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(140)
        self.add_button = button("Add member…", "addMemberButton",
                                 "Invite someone: they get a login and a one-time password")
        self.role_combo = role_combo("memberRoleCombo")
        self.role_combo.setAccessibleName("Role of the selected member")
        self.deactivate_button = button("Deactivate", "deactivateMemberButton",
                                        "No more sign-ins for this member")
        self.reactivate_button = button("Reactivate", "reactivateMemberButton")
        self.reset_button = button("New password…", "resetPasswordButton",
                                   "A new one-time password for a member who forgot theirs")
        self.status = label(name="teamStatusLabel", role="hint")
        layout = QVBoxLayout(self)
        self.solo_hint = label(name="teamSoloLabel", role="hint")
        layout.addWidget(self.solo_hint)
        layout.addWidget(self.table)
        layout.addLayout(button_row(self.add_button, self.role_combo, self.deactivate_button,
                                    self.reactivate_button, self.reset_button))
        layout.addWidget(self.status)
        self.managed = ctx.is_team or ctx.team_admin is not None
        self.solo_hint.setVisible(not self.managed)
        # the file itself, as `team migrate --from` takes it (not the sqlite:/// URL)
        path = plain_sqlite_file(ctx.workspace_label) or ctx.workspace_label or "FILE"
        self.solo_hint.setText(SOLO.format(path=path))
        for widget in (self.add_button, self.role_combo, self.deactivate_button,
                       self.reactivate_button, self.reset_button):
            widget.setVisible(self.managed)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selected())
        self.add_button.clicked.connect(self.add_member)
        self.role_combo.activated.connect(lambda _i: self.change_role())
        self.deactivate_button.clicked.connect(lambda: self.set_active(False))
        self.reactivate_button.clicked.connect(lambda: self.set_active(True))
        self.reset_button.clicked.connect(self.reset_password)
        self._selected()

    # -- loading ------------------------------------------------------------------------
    def load(self) -> None:
        factory = self.ctx.uow
        self.ctx.db.run(self, lambda: team_admin.list_members(factory), self._loaded,
                        self._failed)

    def _loaded(self, members: list[Member]) -> None:
        current = self.selected()
        self.model.set_members(members)
        row = next((i for i, m in enumerate(members) if current and m.id == current.id), 0)
        if members:
            self.table.selectRow(row)
        self._selected()

    def selected(self) -> Member | None:
        index = self.table.currentIndex()
        return self.model.data(index, Qt.ItemDataRole.UserRole) if index.isValid() else None

    def _selected(self) -> None:
        member = self.selected()
        for widget in (self.role_combo, self.deactivate_button, self.reactivate_button,
                       self.reset_button):
            widget.setEnabled(member is not None)
        if member is not None:
            self.role_combo.setCurrentIndex(self.role_combo.findData(member.role))
            self.deactivate_button.setEnabled(member.active)
            self.reactivate_button.setEnabled(not member.active)

    # -- changes ------------------------------------------------------------------------
    def _run(self, work, done) -> None:
        self.status.setText("")
        self.ctx.db.run(self, work, done, self._failed)

    def _failed(self, error: BaseException) -> None:
        self.status.setText(user_message(error))
        self._selected()  # e.g. the role combo back to the member's real role

    def _admin(self):
        return self.ctx.team_admin or team_admin.NoLogins()

    def add_member(self) -> None:
        dialog = AddMemberDialog(self._invite, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.load)
        dialog.open()
        self.dialog = dialog

    def _invite(self, name: str, role: Role, done, refused) -> None:
        factory, admin, dialog = self.ctx.uow, self._admin(), self.dialog
        self.ctx.db.run(dialog, lambda: team_admin.invite(factory, admin, name, role),
                        lambda invitation: (done(invitation), self.load()), refused)

    def change_role(self) -> None:
        member, role = self.selected(), self.role_combo.currentData()
        if member is None or role is member.role:
            return
        work = partial(team_admin.change_role, self.ctx.uow, self._admin(), member.id, role)
        self._run(work, lambda m: (self.status.setText(f"{m.name} is now {m.role.label}."),
                                   self.load()))

    def set_active(self, active: bool) -> None:
        member = self.selected()
        if member is None:
            return
        work = partial(team_admin.set_active, self.ctx.uow, self._admin(), member.id, active)
        said = "reactivated" if active else "deactivated: they can no longer sign in"
        self._run(work, lambda m: (self.status.setText(f"{m.name} {said}."), self.load()))

    def reset_password(self) -> None:
        member = self.selected()
        if member is None:
            return
        work = partial(team_admin.reset_password, self.ctx.uow, self._admin(), member.id)
        self._run(work, lambda password: PasswordDialog(member.name, member.login, password,
                                                        self).open())
