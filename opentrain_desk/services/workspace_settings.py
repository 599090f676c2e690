"""The workspace's own settings, typed: every key is spelled here and nowhere else.

Stored as key/value rows (``SettingsRepository``) so a new setting needs no migration;
read and written through :class:`WorkspaceSettings`, a typed view over one unit of work.
Secrets are never settings: the Stripe key lives in the OS keyring (``secrets.py``); only
its masked hint is kept here.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING

from ..domain.errors import ValidationError

if TYPE_CHECKING:
    from .unit_of_work import UnitOfWork, UnitOfWorkFactory

# -- keys (the only place they are spelled) ----------------------------------------------------
COMPANY_NAME = "company.name"
COMPANY_EMAIL = "company.email"
COMPANY_ADDRESS = "company.address"
COMPANY_TAX_ID = "company.tax_id"
COMPANY_LOGO = "company.logo_path"
ACCOUNT_TYPE = "company.account_type"
WORKSPACE_ID = "workspace.id"
STRIPE_MODE = "stripe.mode"
STRIPE_KEY_HINT = "stripe.key_hint"
#: Team workspace: the prefix of its PostgreSQL group roles (roles are cluster-wide), e.g.
#: ``otd_3f9a2c1b`` → ``otd_3f9a2c1b_owner``; written by ``opentrain-desk team init``.
TEAM_ROLE_PREFIX = "team.role_prefix"
#: Team workspaces: which seat's payment worker is sending, and when it last said so
#: (JSON ``{"login", "name", "at"}``; services/payment_sender.py).
PAYMENTS_SENDER = "payments.sender"

# outgoing mail (Settings → E-mail; the SMTP password lives in the OS keyring)
MAIL_HOST = "mail.smtp_host"
MAIL_PORT = "mail.smtp_port"
MAIL_SECURITY = "mail.smtp_security"
MAIL_USER = "mail.smtp_user"
MAIL_SENDER_NAME = "mail.sender_name"
MAIL_SENDER_ADDRESS = "mail.sender_address"
MAIL_KEYS = {"host": MAIL_HOST, "port": MAIL_PORT, "security": MAIL_SECURITY,
             "user": MAIL_USER, "sender_name": MAIL_SENDER_NAME,
             "sender_address": MAIL_SENDER_ADDRESS}


def customer_key(mode: str) -> str:
    """The agency's Stripe Customer id, per mode (test and live are separate accounts)."""
    return f"stripe.{mode}.customer_id"


def default_card_key(mode: str) -> str:
    return f"stripe.{mode}.default_payment_method"


def bank_methods_key(mode: str) -> str:
    return f"stripe.{mode}.bank_payment_methods"


def event_cursor_key(mode: str) -> str:
    return f"stripe.{mode}.events_cursor"


def events_synced_key(mode: str) -> str:
    return f"stripe.{mode}.events_synced_at"


from .person_keys import PERSON_NAME_PREFIX, person_name_key  # noqa: E402,F401


NOTICES_SEEN_PREFIX = "desktop_notices.seen:"


def notices_seen_key(login: str) -> str:
    """The newest notification a seat (a login) was already shown a desktop notice for."""
    return f"{NOTICES_SEEN_PREFIX}{login}"[:80]


def workspace_id(uow: UnitOfWork) -> str:
    """A stable id for this workspace (keyring entry name, Stripe metadata), made on first
    use (the caller commits)."""
    value = uow.settings.get(WORKSPACE_ID)
    if value is None:
        value = uuid.uuid4().hex
        uow.settings.set(WORKSPACE_ID, value)
    return value


# -- company details ---------------------------------------------------------------------------
LIMITS = {"name": 200, "email": 254, "address": 500, "tax_id": 64}


@dataclass(frozen=True, slots=True)
class CompanyDetails:
    """The agency as printed on invoices (Settings → Company)."""

    name: str = ""
    email: str = ""
    address: str = ""
    tax_id: str = ""

    def cleaned(self) -> CompanyDetails:
        """Trimmed and checked; a :class:`ValidationError` names the field at fault."""
        values = {field.name: getattr(self, field.name).strip() for field in fields(self)}
        for name, value in values.items():
            if len(value) > LIMITS[name]:
                raise ValidationError(f"The company {name.replace('_', ' ')} is too long "
                                      f"(at most {LIMITS[name]} characters).")
        if values["email"] and "@" not in values["email"]:
            raise ValidationError("The company e-mail needs an @, e.g. billing@example.com.")
        return replace(self, **values)


_COMPANY_KEYS = {"name": COMPANY_NAME, "email": COMPANY_EMAIL, "address": COMPANY_ADDRESS,
                 "tax_id": COMPANY_TAX_ID}


class WorkspaceSettings:
    """Typed access to the settings inside one unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._repo = uow.settings

    def company(self) -> CompanyDetails:
        values = self._repo.get_many(tuple(_COMPANY_KEYS.values()))
        return CompanyDetails(**{name: values.get(key) or "" for name, key in
                                 _COMPANY_KEYS.items()})

    def set_company(self, details: CompanyDetails) -> dict[str, tuple[str, str]]:
        """Store what changed; returns ``{field: (before, after)}``."""
        before, after = asdict(self.company()), asdict(details)
        changed = {name: (before[name], after[name]) for name in after
                   if before[name] != after[name]}
        for name, (_old, new) in changed.items():
            self._repo.set(_COMPANY_KEYS[name], new)
        return changed

    @property
    def logo_path(self) -> str:
        return self._repo.get(COMPANY_LOGO) or ""

    @logo_path.setter
    def logo_path(self, value: str) -> None:
        self._repo.set(COMPANY_LOGO, value)


# -- use cases ---------------------------------------------------------------------------------
def load_company(factory: UnitOfWorkFactory) -> CompanyDetails:
    with factory() as uow:
        return WorkspaceSettings(uow).company()


def save_company(factory: UnitOfWorkFactory, details: CompanyDetails) -> bool:
    """Store the changed company fields with one audit entry; False when nothing changed."""
    _require_company_details(factory)
    details = details.cleaned()
    with factory() as uow:
        changed = WorkspaceSettings(uow).set_company(details)
        if not changed:
            return False
        uow.audit("company", None, "updated", {k: v[0] for k, v in changed.items()},
                  {k: v[1] for k, v in changed.items()})
        uow.commit()
    return True


def current_logo(factory: UnitOfWorkFactory) -> str:
    with factory() as uow:
        return WorkspaceSettings(uow).logo_path


def set_logo(factory: UnitOfWorkFactory, path: str) -> str:
    """Store (or clear, with ``""``) the logo path for invoices, audited."""
    _require_company_details(factory)
    with factory() as uow:
        settings = WorkspaceSettings(uow)
        before, settings.logo_path = settings.logo_path, path
        uow.audit("company", None, "logo set" if path else "logo removed",
                  {"logo": before}, {"logo": path})
        uow.commit()
    return path


def _require_company_details(factory: UnitOfWorkFactory) -> None:
    from ..domain.roles import Capability
    from .team import require_in
    require_in(factory, Capability.COMPANY_DETAILS)
