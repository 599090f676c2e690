"""Rows for the outgoing mail screens (Reports → Outgoing mail, the messages tab)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STATUS_TEXT = {"draft": "Not sent yet", "queued": "Queued", "sending": "Sending",
               "sent": "Sent", "failed": "Failed", "unknown": "May have been sent",
               "withheld": "Not e-mailed", "withdrawn": "Withdrawn"}
RESENDABLE = ("failed", "unknown", "draft", "withheld")


@dataclass(frozen=True, slots=True)
class OutgoingMailRow:
    id: int
    at: datetime
    trainer_id: int
    trainer_name: str
    to: str
    kind: str
    subject: str
    status: str
    reason: str
    sent_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)

    @property
    def resendable(self) -> bool:
        return self.status in RESENDABLE and self.status != "draft"


@dataclass(frozen=True, slots=True)
class MailCounts:
    queued: int
    failed: int
    unknown: int
