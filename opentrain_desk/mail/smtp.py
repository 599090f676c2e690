"""The SMTP adapter (``services.ports.MailSender``) over the standard library's smtplib.

Every socket operation has a time-out (connect, greeting, each command, the data), so a
server that accepts the connection and never answers fails as "server down" instead of
hanging the worker. Errors are mapped to what the outbox can act on:

* AUTH: the user name or password was refused (fix Settings → E-mail; retried later);
* TLS: STARTTLS not offered, or the TLS handshake failed (fix the security setting);
* DOWN: unreachable, timed out, or a temporary (4xx) answer before the message was
  handed over: retry later;
* REJECTED: a permanent (5xx) refusal of the recipient or the message: failed for good;
* UNKNOWN: the whole message, final dot included, was sent and then the connection
  dropped or timed out before the server's answer: it may have been delivered.
"""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from ..services.ports import MailError, MailErrorKind, OutgoingMail

SECURITIES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"      # starttls | tls | none
    user: str = ""
    password: str = ""
    sender_name: str = ""
    sender_address: str = ""
    timeout: float = 20.0

    def __repr__(self) -> str:  # never the password, in logs or tracebacks
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, "
                f"security={self.security!r}, user={self.user!r})")


def build_message(settings: SmtpSettings, mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((settings.sender_name, settings.sender_address))
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = mail.message_id
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
        if mail.logo:
            html_part = message.get_payload()[-1]
            html_part.add_related(mail.logo, maintype="image", subtype=mail.logo_type,
                                  cid="<logo>", filename=f"logo.{mail.logo_type}")
    return message


class SmtpSender:
    """Sends one message per connection (the outbox sends few, and each stands alone)."""

    def __init__(self, settings: SmtpSettings, tls_context: ssl.SSLContext | None = None
                 ) -> None:
        self.settings = settings
        self.context = tls_context or ssl.create_default_context()

    def send(self, mail: OutgoingMail) -> None:
        s = self.settings
        if not s.host or not s.sender_address:
            raise MailError(MailErrorKind.CONFIG, "E-mail is not set up: enter the server "
                            "and the sender address in Settings → E-mail.")
        message = build_message(s, mail)
        client = self._connect()
        try:
            self._login(client)
            self._transfer(client, s.sender_address, mail.to, message)
        finally:
            try:
                client.close()
            except OSError:
                pass

    # -- steps -------------------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                          context=self.context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            client.ehlo()
            if s.security == "starttls":
                if not client.has_extn("starttls"):
                    client.close()
                    raise MailError(MailErrorKind.TLS, f"The mail server {where} does not "
                                    "offer STARTTLS: choose another security setting or "
                                    "port in Settings → E-mail.")
                code, reply = client.starttls(context=self.context)
                if code != 220:
                    raise MailError(MailErrorKind.TLS, f"The mail server {where} refused "
                                    f"STARTTLS ({code} {_text(reply)}).")
                client.ehlo()
            return client
        except MailError:
            raise
        except ssl.SSLError as error:
            raise MailError(MailErrorKind.TLS, f"The secure connection to {where} failed "
                            f"({error.reason or error}): check the security setting and "
                            "port in Settings → E-mail.") from None
        except smtplib.SMTPResponseException as error:
            raise _down_or_refused(error, where) from None
        except (OSError, smtplib.SMTPException) as error:
            if _timed_out(error):
                raise MailError(MailErrorKind.DOWN, f"The mail server {where} did not "
                                f"answer in {s.timeout:g} s; will retry later.") from None
            raise MailError(MailErrorKind.DOWN, f"Cannot reach the mail server {where} "
                            f"({_reason(error)}); will retry later.") from None

    def _login(self, client: smtplib.SMTP) -> None:
        s = self.settings
        if not s.user:
            return
        try:
            client.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(MailErrorKind.AUTH, f"The mail server refused the user name or "
                            f"password ({error.smtp_code}): fix them in Settings → "
                            "E-mail.") from None
        except smtplib.SMTPNotSupportedError:
            raise MailError(MailErrorKind.AUTH, "The mail server does not accept a log-in "
                            "on this connection (try STARTTLS or TLS).") from None
        except (TimeoutError, OSError, smtplib.SMTPException) as error:
            raise MailError(MailErrorKind.DOWN, f"The mail server stopped answering while "
                            f"logging in ({_reason(error)}); will retry later.") from None

    def _transfer(self, client: smtplib.SMTP, sender: str, to: str,
                  message: EmailMessage) -> None:
        handed_over = False
        try:
            code, reply = client.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            code, reply = client.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            code, reply = client.docmd("data")
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            payload = _wire_bytes(message)
            if not payload.endswith(b"\r\n"):
                payload += b"\r\n"
            client.send(payload + b".\r\n")
            handed_over = True  # from here on, silence means "may have been delivered"
            code, reply = client.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            if 400 <= code < 500:
                raise MailError(MailErrorKind.DOWN, f"The mail server put off {to} for now "
                                f"({code} {_text(reply)}); will retry later.") from None
            raise MailError(MailErrorKind.REJECTED, f"The mail server refused the address "
                            f"{to} ({code} {_text(reply)}).") from None
        except smtplib.SMTPResponseException as error:
            raise _down_or_refused(error, "the mail server") from None
        except (TimeoutError, OSError, smtplib.SMTPException) as error:
            if handed_over:
                raise MailError(MailErrorKind.UNKNOWN, "The connection dropped after the "
                                "message was handed to the mail server, before it confirmed "
                                f"({_reason(error)}): it may have been sent.") from None
            raise MailError(MailErrorKind.DOWN, f"The mail server stopped answering "
                            f"({_reason(error)}); will retry later.") from None


def _wire_bytes(message: EmailMessage) -> bytes:
    """CRLF line ends and dot-stuffing, as ``smtplib.SMTP.data`` does."""
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)
    return re.sub(rb"(?m)^\.", b"..", data)


def _down_or_refused(error: smtplib.SMTPResponseException, where: str) -> MailError:
    code, text = error.smtp_code, _text(error.smtp_error)
    if 400 <= code < 500 or code == -1:
        return MailError(MailErrorKind.DOWN, f"{where[:1].upper()}{where[1:]} is busy or "
                         f"refused for now ({code} {text}); will retry later.")
    return MailError(MailErrorKind.REJECTED, f"{where[:1].upper()}{where[1:]} refused the "
                     f"message ({code} {text}).")


def _text(reply) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(str(reply).split())[:200]


def _timed_out(error: BaseException) -> bool:
    return isinstance(error, (socket.timeout, TimeoutError)) or isinstance(
        error.__context__, (socket.timeout, TimeoutError))


def _reason(error: BaseException) -> str:
    if _timed_out(error):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return _text(getattr(error, "strerror", None) or error) or type(error).__name__
