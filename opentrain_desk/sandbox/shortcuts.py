"""Python shortcuts of :class:`~opentrain_desk.sandbox.emulator.SandboxStripe`
for the sandbox-only routes (``/_sandbox/...``): onboarding, fault injection,
idempotency key expiry, subscription renewal, disputes, bank debit
settlement, failing refunds, event expiry and key revocation.

A mixin: :class:`SandboxStripe` provides ``faults``, ``idempotency``,
``running``, ``base_url``, ``_call`` and ``_changed_by``.

Part of :mod:`opentrain_desk.sandbox.emulator`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from localstripe.resources import PaymentIntent, Refund

from . import bank_debits, disputes, events, refund_failures
from .application import REVOKED_KEYS
from .connect import Account
from .faults import BEFORE, Fault, FaultInjector
from .idempotency import IdempotencyStore
from .lists import _stored
from .wire import SANDBOX_PREFIX

_T = TypeVar("_T")


class SandboxShortcuts:
    """The ``/_sandbox/`` routes as methods (see the module docstring)."""

    if TYPE_CHECKING:  # provided by SandboxStripe
        faults: FaultInjector
        idempotency: IdempotencyStore

        @property
        def running(self) -> bool: ...

        @property
        def base_url(self) -> str: ...

        def _call(self, func: Callable[..., _T], *args: Any) -> _T: ...

        def _changed_by(self, func: Callable[..., _T], *args: Any) -> _T: ...

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """Python shortcut for ``POST /_sandbox/accounts/{id}/complete_onboarding``."""
        if not self.running:
            raise RuntimeError("complete_onboarding needs the server running (it emits events)")
        return self._call(self._changed_by,
                          lambda: Account._api_complete_onboarding(account_id)._export())

    def inject_fault(self, path_prefix: str, *, status: int | None = None, count: int = 1,
                     delay: float = 0.0, code: str | None = None, method: str | None = None,
                     should_retry: bool | None = None, when: str = BEFORE, drop: bool = False,
                     sticky: bool = False) -> None:
        """Python shortcut for ``POST /_sandbox/faults`` (see :class:`Fault`)."""
        params = {"path_prefix": path_prefix, "status": status, "count": count, "delay": delay,
                  "code": code, "method": method, "should_retry": should_retry, "when": when,
                  "drop": drop, "sticky": sticky}
        self.faults.add(Fault.from_params({k: v for k, v in params.items() if v is not None}))

    def clear_faults(self) -> None:
        self.faults.clear()

    def wait_faults_consumed(self, timeout: float = 5.0) -> bool:
        """Block until every injected fault rule has been used up (a request
        held by a ``delay`` fault is then in progress, holding its key)."""
        return self.faults.wait_until_consumed(timeout)

    def expire_idempotency_keys(self, older_than: float = 0.0) -> int:
        """Forget completed idempotency keys at least ``older_than`` seconds old
        (Stripe prunes them after 24 h); returns how many were forgotten."""
        return self._call(self._changed_by, self.idempotency.expire, older_than)
    def renew_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Python shortcut for ``POST /_sandbox/subscriptions/{id}/renew``."""
        import requests
        response = requests.post(f"{self.base_url}{SANDBOX_PREFIX}subscriptions/"
                                 f"{subscription_id}/renew", timeout=10)
        response.raise_for_status()
        return response.json()

    # Python shortcuts for the /_sandbox/ routes of the extension modules
    # (they emit events, so the server must be running).

    def open_dispute(self, charge: str | None = None, *, payment_intent: str | None = None,
                     **params: Any) -> dict[str, Any]:
        """``POST /_sandbox/disputes`` (``amount``, ``reason``, ``due_in``)."""
        data = {"charge": charge, "payment_intent": payment_intent, **params}
        return self._emitting(lambda: disputes.Dispute._sandbox_open(
            {k: v for k, v in data.items() if v is not None})._export())

    def resolve_dispute(self, dispute_id: str, outcome: str = "won") -> dict[str, Any]:
        """``POST /_sandbox/disputes/{id}/resolve``."""
        return self._emitting(lambda: disputes.Dispute._api_retrieve(dispute_id)
                              ._sandbox_resolve(outcome)._export())

    def settle_payment_intent(self, intent_id: str, outcome: str | None = None) -> dict[str, Any]:
        """``POST /_sandbox/payment_intents/{id}/settle``."""
        return self._emitting(lambda: bank_debits.settle(
            PaymentIntent._api_retrieve(intent_id), outcome)._export())

    def settle_all_payment_intents(self) -> list[str]:
        """``POST /_sandbox/payment_intents/settle_all``: ids of the settled intents."""
        return self._emitting(lambda: [bank_debits.settle(pi).id for pi in _stored(PaymentIntent)
                                       if bank_debits._is_processing_debit(pi)])

    def fail_refund(self, refund_id: str,
                    failure_reason: str = "expired_or_canceled_card") -> dict[str, Any]:
        """``POST /_sandbox/refunds/{id}/fail``."""
        return self._emitting(lambda: refund_failures.fail(
            Refund._api_retrieve(refund_id), failure_reason)._export())

    def expire_events(self, older_than: float = 0.0) -> int:
        """``POST /_sandbox/events/expire``: drop events at least ``older_than``
        seconds old (0: all); returns how many."""
        return self._call(self._changed_by, events.expire, older_than)

    def _emitting(self, func: Callable[[], _T]) -> _T:
        if not self.running:
            raise RuntimeError("this sandbox action needs the server running (it emits events)")
        return self._call(self._changed_by, func)

    def revoke_key(self, key: str) -> None:
        """From now on requests with ``key`` get 401 (as a revoked key does)."""
        REVOKED_KEYS.add(key)
