"""The sandbox's embedded SMTP server (aiosmtpd): messages the app sends in the sandbox go
here, are kept as ``.eml`` files in the sandbox's mail folder and listed in Settings →
E-mail ("Sandbox inbox"), so a newcomer sees mail go out with no mail account.

Also used by the tests as a real SMTP server in the test process.
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True)
class ReceivedMail:
    at: datetime
    sender: str
    to: tuple[str, ...]
    subject: str
    message_id: str
    path: Path | None
    raw: bytes

    def message(self):
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def text(self) -> str:
        part = self.message().get_body(("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message().get_body(("html",))
        return part.get_content() if part is not None else ""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server: SandboxSmtp) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.server.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.server.store(envelope.mail_from, tuple(envelope.rcpt_tos),
                          envelope.original_content or envelope.content)
        hold = self.server.hold_answer
        if hold is not None:  # tests: the message arrived, the answer never comes
            self.server.data_arrived.set()
            import asyncio
            while not hold.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Gave up"
        return "250 Message accepted for delivery"


class SandboxSmtp:
    """An SMTP server on 127.0.0.1 (thread), keeping what it receives."""

    def __init__(self, folder: Path | None = None, host: str = "127.0.0.1", port: int = 0,
                 auth: tuple[str, str] | None = None, tls_context=None,
                 require_starttls: bool = False) -> None:
        self.folder = Path(folder) if folder else None
        self.host, self.port = host, port or free_port(host)
        self.auth, self.tls_context = auth, tls_context
        self.require_starttls = require_starttls
        self.reject: set[str] = set()
        self.hold_answer: threading.Event | None = None
        self.data_arrived = threading.Event()
        self._received: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._controller = None

    def start(self) -> SandboxSmtp:
        from aiosmtpd.controller import Controller
        kwargs = {}
        if self.auth is not None:
            user, password = self.auth

            def authenticator(_server, _session, _envelope, _mechanism, data):
                from aiosmtpd.smtp import AuthResult
                ok = (data.login.decode(), data.password.decode()) == (user, password)
                return AuthResult(success=ok, handled=False)
            kwargs.update(authenticator=authenticator, auth_require_tls=False)
        if self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=self.require_starttls)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                      ready_timeout=10, **kwargs)
        self._controller.start()
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._load_folder()
        return self

    def stop(self) -> None:
        if self.hold_answer is not None:
            self.hold_answer.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    # -- what arrived ----------------------------------------------------------------------
    def store(self, sender: str, to: tuple[str, ...], raw: bytes) -> None:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        at = datetime.now(timezone.utc)
        path = None
        with self._lock:
            if self.folder is not None:
                path = self.folder / f"{at:%Y%m%d-%H%M%S}-{len(self._received) + 1:04d}.eml"
                path.write_bytes(raw)
            self._received.append(ReceivedMail(at, sender, to, str(parsed["Subject"] or ""),
                                               str(parsed["Message-ID"] or ""), path, raw))

    def _load_folder(self) -> None:
        for path in sorted(self.folder.glob("*.eml")):
            raw = path.read_bytes()
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            self._received.append(ReceivedMail(at, "", (str(parsed["To"] or ""),),
                                               str(parsed["Subject"] or ""),
                                               str(parsed["Message-ID"] or ""), path, raw))

    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
