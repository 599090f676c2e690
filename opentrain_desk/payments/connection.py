"""Which Stripe account this workspace talks to, with which key, in which mode.

Live/test keys come from the OS keyring (one entry per workspace); the sandbox uses
the embedded emulator's fixed, non-secret key. The key is verified with one API call
before it is stored, and it never leaves this object except to the SDK.
"""
from __future__ import annotations

import threading
from typing import Callable

from ..domain.errors import DomainError
from ..domain.operations import ErrorKind, OperationStatus
from ..domain.roles import Capability
from ..services.ports import GatewayError, KeyInfo, PaymentGateway, SecretStore
from ..services.team import require_in
from ..services.unit_of_work import UnitOfWorkFactory
from ..services.workspace_settings import STRIPE_KEY_HINT, STRIPE_MODE, customer_key, workspace_id
from .keys import key_mode, mask_key


def _stripe_gateway(*args, **kwargs) -> PaymentGateway:
    """Imports the SDK only when a gateway is first needed (it costs ~0.2 s)."""
    from .stripe_gateway import StripeGateway
    return StripeGateway(*args, **kwargs)



class KeyRefused(DomainError):
    pass


class StripeConnection:
    """Holds the current gateway; swapped atomically when the key changes."""

    def __init__(self, factory: UnitOfWorkFactory, secrets: SecretStore | None,
                 *, sandbox_url: str | None = None, sandbox_key: str | None = None,
                 api_base: str | None = None,
                 gateway_factory: Callable[..., PaymentGateway] = _stripe_gateway) -> None:
        self.factory = factory
        self.secrets = secrets
        self.sandbox_url = sandbox_url
        self._sandbox_key = sandbox_key
        self._make = gateway_factory
        self.api_base = api_base  # None: Stripe itself; tests point it at the emulator
        self._lock = threading.RLock()
        self._gateway: PaymentGateway | None = None
        self._key: str | None = None
        self._mode: str | None = None
        self._loaded = False
        self.keyring_problem = ""

    # -- state -----------------------------------------------------------------------
    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_url is not None

    def gateway(self) -> PaymentGateway | None:
        """The gateway for the current key; reads the keyring and imports the SDK on
        first use (the outbox worker's thread gets there first, not the GUI)."""
        with self._lock:
            if not self._loaded:
                self.load()
            if self._gateway is None and self._key:
                self._gateway = self._make(self._key, base_url=self.sandbox_url or
                                           self.api_base, mode=self._mode)
            return self._gateway

    @property
    def loaded(self) -> bool:
        """The key has been looked up (``gateway()`` will not touch the keyring again)."""
        return self._loaded

    @property
    def has_key(self) -> bool:
        """A key is known, without reading the keyring: False until loaded."""
        return self._loaded and bool(self._key)

    @property
    def mode(self) -> str | None:
        """``test``/``live`` once the key is known (None before the first load)."""
        return self._mode

    def key_hint(self) -> str | None:
        with self.factory() as uow:
            return uow.settings.get(STRIPE_KEY_HINT)

    def _key_name(self) -> str:
        with self.factory() as uow:
            name = f"stripe-secret-key:{workspace_id(uow)}"
            uow.commit()
        return name

    def load(self) -> None:
        """Find the key: the sandbox's, or the workspace's keyring entry (no network)."""
        with self._lock:
            self._loaded = True
            if self.is_sandbox:
                self._use(self._sandbox_key, "test")
                return
            if self.secrets is None:
                return
            if not getattr(self.secrets, "available", lambda: True)():
                from ..secrets import KeyringUnavailable
                self.keyring_problem = str(KeyringUnavailable(self.secrets.backend_name()))
                return
            key = self.secrets.get(self._key_name())
            if key:
                self._use(key, key_mode(key))

    # -- key management ----------------------------------------------------------------
    def save_key(self, key: str) -> KeyInfo:
        """Validate, verify with Stripe, then store in the keyring. Network: call off the
        GUI thread."""
        if self.is_sandbox:
            raise KeyRefused("The sandbox uses its own built-in key; nothing to save.")
        if self.secrets is None:
            raise KeyRefused("No key store is configured.")
        require_in(self.factory, Capability.STRIPE_KEY)  # before Stripe or the keyring
        key = (key or "").strip()
        try:
            mode = key_mode(key)
        except ValueError as error:
            raise KeyRefused(str(error)) from None
        self._check_mode(mode)
        gateway = self._make(key, base_url=self.api_base, mode=mode)
        try:
            info = gateway.verify_key()
        except GatewayError as error:
            reason = ("it is invalid, revoked, or lacks a permission" if error.kind is
                      ErrorKind.KEY_REJECTED else error.message)
            raise KeyRefused(f"Stripe did not accept this key: {reason}.") from None
        self.secrets.set(self._key_name(), key)  # raises KeyringUnavailable: nothing saved
        with self.factory() as uow:
            uow.settings.set(STRIPE_KEY_HINT, mask_key(key))
            uow.settings.set(STRIPE_MODE, mode)
            uow.audit("stripe", None, "key saved", after={"key": mask_key(key), "mode": mode})
            uow.commit()
        with self._lock:
            self._use(key, mode)
            self._gateway = gateway
        return info

    def remove_key(self) -> None:
        if self.is_sandbox or self.secrets is None:
            return
        require_in(self.factory, Capability.STRIPE_KEY)
        self.secrets.delete(self._key_name())
        with self.factory() as uow:
            hint = uow.settings.get(STRIPE_KEY_HINT)
            uow.settings.delete(STRIPE_KEY_HINT)
            uow.audit("stripe", None, "key removed", before={"key": hint})
            uow.commit()
        with self._lock:
            self._use(None, None)

    def _check_mode(self, mode: str) -> None:
        """Refuse a key of the other mode while payments of this mode are still open."""
        other = "live" if mode == "test" else "test"
        with self.factory() as uow:
            customer = uow.settings.get(customer_key(other))
            open_ops = [op for op in uow.operations.with_status(
                OperationStatus.QUEUED, OperationStatus.SENDING, OperationStatus.NEEDS_ACTION)
                if customer and op.customer_id == customer]
        if open_ops:
            raise KeyRefused(
                f"This is a {mode}-mode key, but {len(open_ops)} payment(s) of this workspace "
                f"are still open in {other} mode. Finish or cancel them first, or paste a "
                f"{other}-mode key.")

    def _use(self, key: str | None, mode: str | None) -> None:
        self._key, self._mode, self._gateway, self._loaded = key, mode, None, True
