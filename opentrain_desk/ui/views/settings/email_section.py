"""Settings → E-mail: the SMTP server the app sends trainers' messages through, a test
message, the templates' preview and, in the sandbox, what the embedded server received.

The password goes to the OS keyring only (``mail.link.MailConnection.save``); the field
is never filled back. Without a server the mail-client way stays: messages are drafts
that a person opens in their e-mail app and marks as sent.
"""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit,
                               QListWidget, QListWidgetItem, QSpinBox, QTabWidget,
                               QTextBrowser, QVBoxLayout, QWidget)

from ....services.mail import MailConfig
from ...context import AppContext
from ...ops import user_message
from .common import button, button_row, label, set_role

SECURITY = (("STARTTLS", "starttls", 587), ("TLS", "tls", 465), ("None", "none", 25))


class EmailSection(QGroupBox):
    """SMTP settings, test message, template preview, sandbox inbox."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("E-mail to trainers", parent, objectName="emailGroup")
        self.ctx, self.link = ctx, ctx.mail
        self.host_edit = self._line("smtpHostEdit", "SMTP server", "smtp.example.com")
        self.port_spin = QSpinBox(objectName="smtpPortSpin", minimum=1, maximum=65535,
                                  value=587)
        self.port_spin.setAccessibleName("SMTP port")
        self.security_combo = QComboBox(objectName="smtpSecurityCombo")
        self.security_combo.setAccessibleName("Connection security")
        for text, value, _port in SECURITY:
            self.security_combo.addItem(text, value)
        self.user_edit = self._line("smtpUserEdit", "SMTP user name", "usually your address")
        self.password_edit = self._line("smtpPasswordEdit", "SMTP password",
                                        "kept in the OS keyring; leave empty to keep")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sender_name_edit = self._line("senderNameEdit", "Sender name", "Acme Payouts")
        self.sender_address_edit = self._line("senderAddressEdit", "Sender address",
                                              "payouts@example.com")
        self.save_button = button("Save e-mail settings", "saveEmailButton")
        self.test_button = button("Send a test message", "sendTestMailButton",
                                  "Send a message to the sender address with these settings")
        self.status_label = label(name="emailStatusLabel", role="hint")
        self.worker_label = label(name="mailWorkerStatusLabel", role="hint")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        server = QHBoxLayout()
        server.addWidget(self.host_edit, 1)
        server.addWidget(label("Port:"))
        server.addWidget(self.port_spin)
        server.addWidget(self.security_combo)
        form.addRow("SMTP server:", server)
        form.addRow("User name:", self.user_edit)
        form.addRow("Password:", self.password_edit)
        form.addRow("Sender name:", self.sender_name_edit)
        form.addRow("Sender address:", self.sender_address_edit)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(label("Messages owed to trainers (payout released, finish payout "
                               "setup, changes requested, cancelled, payout failed) are sent "
                               "through this server. Without one they wait as drafts to open "
                               "in your e-mail app.", role="hint"))
        layout.addLayout(form)
        layout.addLayout(button_row(self.save_button, self.test_button))
        layout.addWidget(self.status_label)
        layout.addWidget(self.worker_label)
        layout.addWidget(self._preview_box())
        self.inbox_list = None
        if self.link is not None and self.link.is_sandbox:
            layout.addWidget(self._inbox_box())
        self.security_combo.activated.connect(self._security_chosen)
        self.save_button.clicked.connect(self.save)
        self.test_button.clicked.connect(self.send_test)
        if ctx.mail_sync is not None:
            self.worker_label.setText(ctx.mail_sync.text)
            ctx.mail_sync.statusChanged.connect(self.worker_label.setText)
            ctx.mail_sync.mailChanged.connect(self._mail_changed)
        self.setEnabled(self.link is not None)

    def _line(self, name: str, accessible: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(objectName=name, placeholderText=placeholder)
        edit.setAccessibleName(accessible)
        return edit

    def _preview_box(self) -> QWidget:
        box = QGroupBox("Template preview", objectName="mailPreviewGroup")
        self.kind_combo = QComboBox(objectName="mailTemplateCombo")
        self.kind_combo.setAccessibleName("Message kind")
        for kind in (self.link.kinds if self.link is not None else ()):
            self.kind_combo.addItem(kind.capitalize(), kind)
        self.preview_error = label(name="mailPreviewErrorLabel", role="error")
        self.preview_error.hide()
        self.preview_tabs = QTabWidget(objectName="mailPreviewTabs")
        self.preview_html = QTextBrowser(objectName="mailPreviewHtml", openLinks=False)
        self.preview_text = QTextBrowser(objectName="mailPreviewText", openLinks=False)
        self.preview_text.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.preview_tabs.addTab(self.preview_html, "HTML")
        self.preview_tabs.addTab(self.preview_text, "Plain text")
        self.preview_tabs.setMinimumHeight(240)
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(label("Message:"))
        row.addWidget(self.kind_combo, 1)
        layout.addLayout(row)
        layout.addWidget(self.preview_error)
        layout.addWidget(self.preview_tabs)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.preview())
        return box

    def _inbox_box(self) -> QWidget:
        box = QGroupBox("Sandbox inbox — what the embedded mail server received",
                        objectName="sandboxInboxGroup")
        self.inbox_list = QListWidget(objectName="sandboxInboxList")
        self.inbox_list.setAccessibleName("Sandbox inbox")
        self.inbox_list.setMinimumHeight(120)
        self.open_mail_button = button("Open message", "openSandboxMailButton",
                                       "Open the selected .eml file in your e-mail app")
        self.refresh_inbox_button = button("Refresh", "refreshSandboxInboxButton")
        layout = QVBoxLayout(box)
        layout.addWidget(self.inbox_list)
        layout.addLayout(button_row(self.open_mail_button, self.refresh_inbox_button))
        self.open_mail_button.clicked.connect(self.open_mail)
        self.refresh_inbox_button.clicked.connect(self.load_inbox)
        self.inbox_list.itemActivated.connect(lambda _item: self.open_mail())
        return box

    # -- loading -----------------------------------------------------------------------
    def load(self) -> None:
        if self.link is None:
            return
        self.ctx.db.run(self, self.link.config, self._show_config, self._failed)
        self.preview()
        self.load_inbox()

    def _show_config(self, config: MailConfig) -> None:
        self.host_edit.setText(config.host)
        self.port_spin.setValue(config.port)
        self.security_combo.setCurrentIndex(max(0, self.security_combo.findData(
            config.security)))
        self.user_edit.setText(config.user)
        self.sender_name_edit.setText(config.sender_name)
        self.sender_address_edit.setText(config.sender_address)
        if self.link.is_sandbox:
            self._say("Sandbox: messages go to the embedded mail server below; no mail "
                      "account needed.", "hint")

    def _mail_changed(self) -> None:
        if self.inbox_list is not None and self.isVisible():
            self.load_inbox()

    def _security_chosen(self, _index: int) -> None:
        ports = {value: port for _t, value, port in SECURITY}
        if self.port_spin.value() in ports.values():
            self.port_spin.setValue(ports[self.security_combo.currentData()])

    def form(self) -> MailConfig:
        return MailConfig(self.host_edit.text().strip(), self.port_spin.value(),
                          self.security_combo.currentData(), self.user_edit.text().strip(),
                          self.sender_name_edit.text().strip(),
                          self.sender_address_edit.text().strip())

    # -- actions ---------------------------------------------------------------------------
    def save(self) -> None:
        password = self.password_edit.text() or None
        self.save_button.setEnabled(False)
        self._say("Saving…", "hint")
        self.ctx.db.run(self, partial(self.link.save, self.form(), password), self._saved,
                        self._failed)

    def _saved(self, config: MailConfig) -> None:
        self.save_button.setEnabled(True)
        self.password_edit.clear()
        self._show_config(config)
        self._say("Saved. " + ("Messages to trainers will be sent through "
                               f"{config.host}." if config.configured else
                               "E-mail is off: messages stay drafts."), "hint")
        if self.ctx.mail_sync is not None:
            self.ctx.mail_sync.wake()
        self.preview()

    def send_test(self) -> None:
        config, password = self.form(), self.password_edit.text() or None
        self.test_button.setEnabled(False)
        self._say(f"Sending a test message to {config.sender_address or '…'}", "hint")
        self.ctx.net.run(self, partial(self.link.send_test, config, password),
                         self._tested, self._test_failed)

    def _tested(self, text: str) -> None:
        self.test_button.setEnabled(True)
        self._say(text, "hint")
        self.load_inbox()

    def _test_failed(self, error: BaseException) -> None:
        self.test_button.setEnabled(True)
        self._say(f"Test message not sent: {user_message(error)}", "error")

    def _failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self._say(user_message(error), "error")

    def _say(self, text: str, role: str) -> None:
        self.status_label.setText(text)
        set_role(self.status_label, role)

    # -- preview ---------------------------------------------------------------------------
    def preview(self) -> None:
        kind = self.kind_combo.currentData()
        if self.link is None or kind is None:
            return
        (self.ctx.db.op(self, partial(self._render, kind)).success(self._show_preview)
         .failure(self._preview_failed).latest("mail-preview").run())

    def _render(self, kind: str):
        rendered = self.link.preview(kind)
        _fields, logo, _type = self.link.agency()
        return rendered, logo

    def _show_preview(self, result) -> None:
        rendered, logo = result
        self.preview_error.hide()
        document = self.preview_html.document()
        if logo:
            document.addResource(QTextDocument.ResourceType.ImageResource,
                                 QUrl("cid:logo"), QImage.fromData(logo))
        self.preview_html.setHtml(rendered.html)
        self.preview_text.setPlainText(f"Subject: {rendered.subject}\n\n{rendered.text}")

    def _preview_failed(self, error: BaseException) -> None:
        self.preview_error.setText(user_message(error))
        self.preview_error.show()
        self.preview_html.clear()
        self.preview_text.clear()

    # -- sandbox inbox ---------------------------------------------------------------------
    def load_inbox(self) -> None:
        if self.inbox_list is None:
            return
        self.ctx.db.op(self, self.link.sandbox_inbox).success(self._show_inbox).latest(
            "mail-inbox").run()

    def _show_inbox(self, received: list) -> None:
        self.inbox_list.clear()
        for mail in reversed(received):
            item = QListWidgetItem(f"{mail.at.astimezone():%d %b %H:%M} · "
                                   f"{', '.join(mail.to)} · {mail.subject}")
            item.setData(0x0100, str(mail.path or ""))
            item.setToolTip(f"{mail.message_id}\n{mail.path or ''}")
            self.inbox_list.addItem(item)
        if not received:
            self.inbox_list.addItem("Nothing received yet.")
        self.open_mail_button.setEnabled(bool(received))

    def open_mail(self) -> None:
        item = self.inbox_list.currentItem() if self.inbox_list is not None else None
        path = item.data(0x0100) if item is not None else ""
        if path and not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self._say(f"No app could open {path}; it is a standard .eml file.", "error")
