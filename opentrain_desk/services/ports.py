"""Ports the services declare; adapters (Stripe, keyring, PDF) implement them."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Protocol

from ..domain.errors import DomainError
from ..domain.operations import ErrorKind


class GatewayError(Exception):
    """A Stripe call failed; ``kind`` says whether to retry. ``message`` is user-safe."""

    def __init__(self, kind: ErrorKind, message: str, code: str | None = None,
                 object_id: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.code, self.object_id = kind, message, code, object_id


@dataclass(frozen=True)
class PaymentResult:
    payment_intent_id: str
    status: str  # succeeded | requires_action | requires_payment_method | processing | ...
    charge_id: str = ""
    client_secret: str = ""
    failure_message: str = ""
    metadata: dict = field(default_factory=dict)
    amount: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def needs_action(self) -> bool:
        return self.status == "requires_action"


@dataclass(frozen=True)
class StripePayment:
    """A PaymentIntent as "Check against Stripe" compares it with the books."""

    id: str
    status: str
    amount: int
    amount_refunded: int
    created: int
    charge_id: str = ""
    invoice_id: str = ""  # set for subscription invoices' payments
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # pending | succeeded | failed | canceled
    amount: int
    payment_intent_id: str
    metadata: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "pending")


@dataclass(frozen=True)
class CardInfo:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool = False
    bank: bool = False  # a US bank account (ACH debit) rather than a card

    @property
    def label(self) -> str:
        if self.bank:
            return f"{self.brand} •••• {self.last4} (bank debit)"
        return f"{self.brand.title()} •••• {self.last4}"

    @property
    def expiry(self) -> str:
        return "—" if self.bank else f"{self.exp_month:02d}/{self.exp_year % 100:02d}"


@dataclass(frozen=True)
class AccountInfo:
    id: str
    payouts_enabled: bool
    currently_due: tuple[str, ...] = ()
    past_due: tuple[str, ...] = ()
    disabled_reason: str = ""


@dataclass(frozen=True)
class TransferResult:
    id: str
    amount: int
    destination: str
    metadata: dict = field(default_factory=dict)
    amount_reversed: int = 0


@dataclass(frozen=True)
class StripeEvent:
    """One entry of Stripe's event list: what happened, and the object as it was then."""

    id: str
    type: str
    created: int
    data: dict  # ``data.object`` as plain dicts


@dataclass(frozen=True)
class EventPage:
    events: list  # newest first, as Stripe lists them
    has_more: bool


@dataclass(frozen=True)
class DisputeInfo:
    id: str
    status: str
    amount: int
    reason: str
    charge_id: str
    payment_intent_id: str
    due_by: int | None
    evidence: dict = field(default_factory=dict)

    @classmethod
    def from_stripe(cls, data: dict) -> DisputeInfo:
        """A dispute from Stripe's plain-dict form (an event's snapshot or an API answer)."""
        details = data.get("evidence_details") or {}
        evidence = {k: v for k, v in (data.get("evidence") or {}).items()
                    if isinstance(v, str) and v}
        charge = data.get("charge") or ""
        intent = data.get("payment_intent") or ""
        return cls(data["id"], data.get("status") or "", int(data.get("amount") or 0),
                   data.get("reason") or "",
                   charge if isinstance(charge, str) else charge.get("id", ""),
                   intent if isinstance(intent, str) else intent.get("id", ""),
                   details.get("due_by"), evidence)


@dataclass(frozen=True)
class SubscriptionInfo:
    id: str
    status: str
    plan_id: str
    current_period_start: int | None
    current_period_end: int | None
    cancel_at_period_end: bool
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StripeInvoiceInfo:
    id: str
    status: str           # draft | open | paid | uncollectible | void
    amount_cents: int
    created: int
    period_start: int | None = None
    period_end: int | None = None


@dataclass(frozen=True)
class KeyInfo:
    mode: str  # "test" | "live"
    account_label: str


class PaymentGateway(Protocol):
    mode: str

    def verify_key(self) -> KeyInfo: ...

    def create_customer(self, name: str, email: str, metadata: dict) -> str: ...

    def list_cards(self, customer_id: str) -> list[CardInfo]: ...

    def attach_card(self, customer_id: str, payment_method: str) -> CardInfo: ...

    def set_default_card(self, customer_id: str, payment_method_id: str) -> None: ...

    def detach_card(self, payment_method_id: str) -> None: ...

    def charge(self, *, amount_cents: int, customer_id: str, payment_method_id: str,
               metadata: dict, idempotency_key: str,
               bank_debit: bool = False) -> PaymentResult: ...

    def find_payment(self, customer_id: str, operation_id: str,
                     created_after: int) -> PaymentResult | None: ...

    def retrieve_payment(self, payment_intent_id: str) -> PaymentResult: ...

    def create_account(self, email: str, metadata: dict) -> str: ...

    def retrieve_account(self, account_id: str) -> AccountInfo: ...

    def onboarding_link(self, account_id: str, refresh_url: str, return_url: str) -> str: ...

    def transfer(self, *, amount_cents: int, destination: str, source_transaction: str,
                 transfer_group: str, metadata: dict, idempotency_key: str
                 ) -> TransferResult: ...

    def find_transfer(self, transfer_group: str, operation_id: str) -> TransferResult | None: ...

    def list_payments(self, customer_id: str) -> list[StripePayment]: ...

    def list_transfers(self) -> list[TransferResult]: ...

    def refund(self, *, payment_intent_id: str, amount_cents: int, metadata: dict,
               idempotency_key: str) -> RefundResult: ...

    def find_refund(self, payment_intent_id: str, operation_id: str) -> RefundResult | None: ...

    def list_events(self, *, ending_before: str | None = None,
                    starting_after: str | None = None) -> EventPage: ...

    def list_refunds(self, payment_intent_id: str) -> list[RefundResult]: ...

    def list_disputes(self) -> list[DisputeInfo]: ...

    def update_dispute(self, dispute_id: str, evidence: dict, submit: bool) -> DisputeInfo: ...


class SecretStore(Protocol):
    def get(self, name: str) -> str | None: ...

    def set(self, name: str, secret: str) -> None: ...

    def delete(self, name: str) -> None: ...

    def backend_name(self) -> str: ...


class StripeLink(Protocol):
    """The workspace's Stripe connection as the UI sees it (``payments.connection``)."""

    sandbox_url: str | None
    keyring_problem: str

    @property
    def is_sandbox(self) -> bool: ...
    @property
    def loaded(self) -> bool: ...
    @property
    def has_key(self) -> bool: ...
    @property
    def mode(self) -> str | None: ...
    def key_hint(self) -> str | None: ...
    def gateway(self) -> PaymentGateway | None: ...
    def load(self) -> None: ...
    def save_key(self, key: str) -> KeyInfo: ...
    def remove_key(self) -> None: ...


class TeamAdmin(Protocol):
    """The database side of a team workspace's members: each member is a database login
    in their role's group (PostgreSQL: ``persistence/team_security``). The ``members`` rows
    and the audit entries are the services' (``services/team_admin.py``), which call these
    in the same action and only after the role check. A solo workspace has no logins: a
    no-op implementation. ``role`` is a ``domain.roles.Role`` value ("accountant")."""

    def add_member(self, login: str, role: str, password: str) -> None:
        """Create the login with a one-time ``password`` (to change at first sign-in)."""
    def change_role(self, login: str, role: str) -> None: ...
    def deactivate(self, login: str) -> None:
        """No more sign-ins, and the member's open sessions are ended."""
    def reactivate(self, login: str) -> None: ...
    def reset_password(self, login: str, password: str) -> None:
        """A new one-time password (to change at next sign-in)."""
    def change_own_password(self, login: str, old: str, new: str) -> None:
        """The signed-in member replaces their (one-time) password; raises ``DomainError``
        with a message a person can act on when ``old`` is wrong or ``new`` refused."""
    def password_is_temporary(self, login: str) -> bool:
        """True while the member still has a one-time password."""


@dataclass(frozen=True)
class WorkerState:
    """What the payment worker last knew, for the status bar."""

    online: bool | None = None  # None: not known yet
    key_rejected: bool = False
    connected: bool = True       # a gateway (key) is configured
    last_error: str = ""
    busy: bool = False
    sending: bool = True         # False: a team seat that only queues (no key or role)


# -- mail (the outbox's SMTP sender; mail/smtp.py implements it) ------------------------------

class MailErrorKind(Enum):
    AUTH = "auth"            # user name / password refused: fix Settings → E-mail
    TLS = "tls"              # the server refused (or cannot do) the chosen encryption
    DOWN = "down"            # unreachable, timed out, busy (4xx): retry later
    REJECTED = "rejected"    # this recipient (or message) refused for good (5xx)
    UNKNOWN = "unknown"      # the connection dropped after the message was handed over
    CONFIG = "config"        # no usable settings (host, sender) or no password stored

    @property
    def retry(self) -> bool:
        """Whether the same message may simply be tried again later."""
        return self in (MailErrorKind.DOWN, MailErrorKind.AUTH, MailErrorKind.TLS,
                        MailErrorKind.CONFIG)


class MailError(DomainError):
    """Sending failed; ``message`` is fit for people (no password, no server dump)."""

    def __init__(self, kind: MailErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


@dataclass(frozen=True)
class OutgoingMail:
    """One rendered message, ready for the wire."""

    message_id: str          # "<otd-msg-12.ab12…@host>": the same on every re-send
    to: str
    subject: str
    text: str
    html: str = ""
    logo: bytes = b""        # inline image referenced as cid:logo from the HTML
    logo_type: str = "png"


class MailSender(Protocol):
    """Hands one message to the mail server, or raises :class:`MailError`."""

    def send(self, mail: OutgoingMail) -> None: ...


@dataclass(frozen=True)
class MailWorkerState:
    """What the mail worker last knew (status line, Settings → E-mail)."""

    configured: bool = False
    online: bool | None = None
    last_error: str = ""
    queued: int = 0


class ChangeFeed(Protocol):
    """Changes other seats made (team workspaces: PostgreSQL LISTEN/NOTIFY, implemented by
    ``persistence.live.PgChangeFeed``). ``on_change(tables)`` is called on the feed's own
    thread with the names of the tables a burst of changes touched."""

    def start(self, on_change: Callable[[set[str]], None]) -> None: ...
    def stop(self) -> None: ...
