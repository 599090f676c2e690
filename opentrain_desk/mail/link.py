"""The workspace's mail link: settings, the password in the OS keyring, the SMTP sender,
template rendering with the agency's name and logo, the test message and the preview.

Built by the workspace (``workspace.py``) and handed to the worker and, as ``ctx.mail``,
to Settings → E-mail. Every method may touch the database, the keyring or the network:
call it off the GUI thread.
"""
from __future__ import annotations

import mimetypes
from html import escape
from datetime import datetime, timezone
from pathlib import Path

from ..domain.errors import ValidationError
from ..services import mail as mail_service
from ..services.mail import MailConfig
from ..services.ports import MailError, MailErrorKind, OutgoingMail, SecretStore
from ..services.unit_of_work import UnitOfWorkFactory
from ..services.workspace_settings import WorkspaceSettings, workspace_id
from .smtp import SmtpSender, SmtpSettings
from .templates import KINDS, Rendered, Templates

SAMPLE = {"trainer_name": "Ada Trainer", "trainer_email": "ada@example.com",
          "amount": "$1,250.00", "milestone": "Label 500 dialogues", "job": "Support bot",
          "note": "Please add the missing edge cases.", "transfer": "tr_123",
          "reason": "The bank account was closed."}
SAMPLE_TEXT = {
    "payout started": ("$1,250.00 approved for you", "“Label 500 dialogues” (Support bot) "
                       "was approved. $1,250.00 is being sent to your Stripe account."),
    "setup needed": ("Finish your payout setup to get paid", "“Label 500 dialogues” was "
                     "approved: $1,250.00 is waiting for you. Please finish your Stripe "
                     "payout setup here: https://connect.stripe.com/setup/s/example"),
    "onboarding link": ("Set up your payouts", "To receive payments for your milestones, "
                        "please set up your payout account with Stripe:\n"
                        "https://connect.stripe.com/setup/s/example"),
    "payment sent": ("Payment of $1,250.00 sent", "$1,250.00 for “Label 500 dialogues” "
                     "(Support bot) has been sent to your Stripe account (transfer tr_123)."),
    "payout failed": ("Your payment of $1,250.00 could not be sent", "Stripe could not send "
                      "$1,250.00: The bank account was closed.\nWe will retry once your "
                      "payout account is in order."),
    "changes requested": ("Changes requested: Label 500 dialogues", "Before it can be "
                          "approved, please change the following:\n\nPlease add the "
                          "missing edge cases."),
    "milestone cancelled": ("“Label 500 dialogues” was cancelled", "“Label 500 dialogues” "
                            "was cancelled and its funds returned to the agency."),
}


class MailConnection:
    def __init__(self, factory: UnitOfWorkFactory, secrets: SecretStore | None,
                 templates: Templates | None = None, sandbox=None,
                 timeout: float = 20.0) -> None:
        """``sandbox``: the embedded SMTP server (``sandbox_smtp.SandboxSmtp``) or None."""
        self.factory, self.secrets = factory, secrets
        self.templates = templates or Templates()
        self.sandbox = sandbox
        self.timeout = timeout
        self.kinds = KINDS

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    # -- settings and password -------------------------------------------------------------
    def config(self) -> MailConfig:
        return mail_service.load_config(self.factory)

    def _password_name(self) -> str:
        with self.factory() as uow:
            name = mail_service.password_name(workspace_id(uow))
            uow.commit()
        return name

    def has_password(self) -> bool:
        return bool(self.secrets and self.secrets.get(self._password_name()))

    def save(self, config: MailConfig, password: str | None = None) -> MailConfig:
        """Store the settings; ``password`` None keeps the stored one, "" removes it. The
        password is checked for storability first: nothing is saved half-way."""
        config = config.cleaned()
        if password is not None:
            if self.secrets is None:
                raise ValidationError("No keyring here: the password cannot be stored.")
            name = self._password_name()
            if password:
                self.secrets.set(name, password)
            else:
                self.secrets.delete(name)
        return mail_service.save_config(self.factory, config)

    def sender(self, config: MailConfig | None = None,
               password: str | None = None) -> SmtpSender | None:
        """``password`` None: the stored one."""
        config = config or self.config()
        if not config.configured:
            return None
        if password is None and config.user and self.secrets is not None:
            password = self.secrets.get(self._password_name()) or ""
        return SmtpSender(SmtpSettings(config.host, config.port, config.security,
                                       config.user, password or "", config.sender_name,
                                       config.sender_address, self.timeout))

    def domain(self) -> str:
        address = self.config().sender_address
        return address.rpartition("@")[2] or "opentrain-desk.invalid"

    # -- rendering -----------------------------------------------------------------------
    def agency(self) -> tuple[dict[str, str], bytes, str]:
        with self.factory() as uow:
            settings = WorkspaceSettings(uow)
            company, logo_path = settings.company(), settings.logo_path
            sender = mail_service.read_config(uow)
        fields = {"agency_name": company.name or sender.sender_name or "Your agency",
                  "agency_email": company.email or sender.sender_address}
        logo, logo_type = b"", "png"
        if logo_path and Path(logo_path).is_file():
            guessed = mimetypes.guess_type(logo_path)[0] or "image/png"
            if guessed.startswith("image/") and guessed != "image/svg+xml":
                logo, logo_type = Path(logo_path).read_bytes(), guessed.split("/")[1]
        return fields, logo, logo_type

    def render(self, kind: str, fields: dict) -> tuple[Rendered, bytes, str]:
        agency, logo, logo_type = self.agency()
        rendered = self.templates.render(kind, {**agency, **fields}, has_logo=bool(logo))
        return rendered, logo, logo_type

    def preview(self, kind: str) -> Rendered:
        """The kind's templates filled with sample values (raises TemplateError)."""
        subject, body = SAMPLE_TEXT.get(kind, ("Sample subject", "Sample text."))
        link = "https://connect.stripe.com/setup/s/example" if "setup" in kind or (
            "onboarding" in kind) else ""
        fields = {**SAMPLE, "subject": subject, "link": link,
                  "body": f"Hi {SAMPLE['trainer_name']},\n\n{body}"}
        rendered, _logo, _type = self.render(kind, fields)
        return rendered

    # -- test message ----------------------------------------------------------------------
    def send_test(self, config: MailConfig | None = None, password: str | None = None) -> str:
        """Send a test message to the sender address with these settings (default: the
        saved ones) and ``password`` (None: the stored one); returns what happened, or
        raises MailError with the reason."""
        config = (config or self.config()).cleaned()
        sender = self.sender(config, password)
        if sender is None:
            raise MailError(MailErrorKind.CONFIG, "Enter the SMTP server and the sender "
                            "address first.")
        agency, logo, logo_type = self.agency()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        text = (f"This is a test message from OpenTrain Desk for {agency['agency_name']}."
                "\nIf you can read it, messages to trainers will go out.")
        image = '<img src="cid:logo" style="max-height:48px"> ' if logo else ""
        html = (f"<p>{image}<b>{escape(agency['agency_name'])}</b></p>"
                f"<p>{escape(text)}</p>")
        sender.send(OutgoingMail(f"<otd-test-{stamp}@{self.domain()}>",
                                 config.sender_address, "OpenTrain Desk test message",
                                 text, html, logo, logo_type))
        return (f"Test message sent to {config.sender_address} through "
                f"{config.host}:{config.port}.")

    # -- the sandbox's inbox ------------------------------------------------------------
    def sandbox_inbox(self) -> list:
        return self.sandbox.received() if self.sandbox is not None else []
