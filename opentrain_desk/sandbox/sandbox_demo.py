"""The demo agency inside the Stripe sandbox: real emulator objects behind every state.

Funded milestones have real charges; Paid milestones were approved and paid out with
real transfers to trainers' connected accounts. Most trainers finished their payout
setup; José Núñez did not, so his approved pilot waits (Pending – trainer setup). Two
payouts meet an emulated Stripe fault when they are sent: a 503 (Pending – retrying:
the app's payment worker retries it once it starts, and it is paid out) and a refused
transfer (Failed)."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from ..domain.milestones import Action
from ..domain.operations import OperationKind
from ..domain.subscriptions import AccountType
from ..payments.outbox import OutboxWorker
from ..services import billing, funding, payouts, refunds, stripe_events, subscriptions
from ..services import jobs as services
from ..services.ports import PaymentGateway
from ..services.unit_of_work import UnitOfWorkFactory
from ..services.workspace_settings import default_card_key
from .demo import (CANCEL_REASON, DEMO_COMPANY, DISPUTE_DAYS, DISPUTE_REASON, PAYOUT_OUTCOME,
                   Schedule, released, seed_demo, travel)

NOT_ONBOARDED = {"jose.nunez@example.com"}
#: Emulated Stripe answers to the transfer of a demo payout (``SandboxStripe.inject_fault``).
TRANSFER_FAULTS = {
    "PAID_RETRY": dict(status=503, should_retry=True),            # Stripe: try again later
    "PAID_FAILED": dict(status=400, code="transfer_rejected"),     # refused: not retryable
    "PAID_REFUNDED": dict(status=400, code="transfer_rejected"),   # refused, then refunded
}
#: The refund of "REFUNDING" meets a 503: the app's payment worker sends it after start.
REFUND_FAULT = dict(status=503, should_retry=True)


def seed_sandbox_demo(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                      complete_onboarding: Callable[[str], object],
                      inject_fault: Callable[..., None],
                      open_dispute: Callable[..., object] | None = None) -> None:
    with factory() as uow:
        if uow.settings.get(default_card_key(gateway.mode)):
            return  # already seeded
        for key, value in DEMO_COMPANY.items():
            uow.settings.set(key, value)
        uow.commit()
    card = billing.add_test_card(factory, gateway, "pm_card_visa")
    needs_3ds = billing.add_test_card(factory, gateway, "pm_card_authenticationRequired")
    billing.set_default(factory, gateway, card.id)
    bank = billing.add_test_bank_account(factory, gateway, "000123456789")
    worker = OutboxWorker(factory, lambda: gateway, lease=timedelta(0), senders=1)
    _subscribe_agency(factory, gateway, worker)

    def onboard(milestone_id: int) -> None:
        with factory() as uow:
            contract = uow.contracts.get(uow.milestones.get(milestone_id).contract_id)
            trainer = uow.trainers.get(contract.trainer_id)
        if trainer.email in NOT_ONBOARDED:
            payouts.ensure_account(factory, gateway, trainer.id)  # account, setup pending
            payouts.refresh_account(factory, gateway, trainer.id)
        elif not trainer.payouts_enabled:
            complete_onboarding(payouts.ensure_account(factory, gateway, trainer.id))
            payouts.refresh_account(factory, gateway, trainer.id)

    def advance(f: UnitOfWorkFactory, milestone_id: int, target: str,
                schedule: Schedule | None = None) -> None:
        def at(action: Action) -> None:
            if schedule is not None:
                travel(f, schedule.of(action))

        demo_worker = OutboxWorker(f, lambda: gateway, lease=timedelta(0), senders=1)
        at(Action.START_FUNDING)
        onboard(milestone_id)
        if target == "NOT_FUNDED":
            return
        if target == "BANK_PROCESSING":
            bank_debits.append(milestone_id)  # charged last: nothing else is sent then
            return
        card_id = needs_3ds.id if target == "FUNDING" else None  # waits for 3-D Secure
        funding.queue_funding(f(), milestone_id, gateway.mode, card_id)
        demo_worker.run_once(reconcile=False)
        if target == "PENDING_APPROVAL" or target in PAYOUT_OUTCOME:
            at(Action.SUBMIT)
            services.record_submission(f(), milestone_id, "Delivered — annotation log and "
                                       "summary report attached.",
                                       "https://files.example.com/deliveries/batch.zip")
        if target == "DISPUTED" and open_dispute is not None:
            with f() as uow:
                intent = uow.milestones.get(milestone_id).payment_intent_id
            open_dispute(payment_intent=intent, reason=DISPUTE_REASON,
                         due_in=DISPUTE_DAYS * 86_400 + 3_600)
        if target == "REFUNDING":
            refunding.append(milestone_id)  # cancelled last: its refund is still in flight
        elif target == "REFUNDED":
            at(Action.REFUND)
            cancel(f, milestone_id)
            demo_worker.run_once(reconcile=False)
        if target in PAYOUT_OUTCOME:
            at(Action.APPROVE)
            with f() as uow:
                amount = uow.milestones.get(milestone_id).amount_cents
            payouts.approve_milestone(f(), milestone_id, released(target, amount),
                                      "Half of the summaries were accepted.")
            if target in TRANSFER_FAULTS:
                inject_fault("/v1/transfers", method="POST", **TRANSFER_FAULTS[target])
            demo_worker.run_once(reconcile=False)
            if target == "PAID_REVERSED":  # the agency reversed it in the Dashboard
                with f() as uow:
                    transfer = next(op.stripe_object_id for op in
                                    uow.operations.for_milestone(milestone_id)
                                    if op.kind is OperationKind.PAYOUT)
                gateway.v1.transfers.reversals.create(transfer)
            if target == "PAID_REFUNDED":
                payouts.refund_failed_payout(f(), milestone_id, "The trainer closed their "
                                             "payout account; refunded to the agency.")
                demo_worker.run_once(reconcile=False)

    refunding: list[int] = []
    bank_debits: list[int] = []
    seed_demo(factory, advance, subscription_invoice=False)
    stripe_events.sync(factory, gateway)  # the reversal and the dispute reach the books
    refunds_only = OutboxWorker(factory, lambda: gateway, lease=timedelta(0), senders=1)
    refunds_only.handlers = {OperationKind.REFUND: refunds_only.handlers[OperationKind.REFUND]}
    for milestone_id in refunding:  # meets a 503: the app's worker sends it after start
        cancel(factory, milestone_id)
        inject_fault("/v1/refunds", method="POST", **REFUND_FAULT)
        refunds_only.run_once(reconcile=False)
    fundings_only = OutboxWorker(factory, lambda: gateway, lease=timedelta(0), senders=1)
    fundings_only.handlers = {OperationKind.FUND_MILESTONE:
                              fundings_only.handlers[OperationKind.FUND_MILESTONE]}
    for milestone_id in bank_debits:  # processing at Stripe: settles days later
        funding.queue_funding(factory(), milestone_id, gateway.mode, bank.id)
        fundings_only.run_once(reconcile=False)


def cancel(factory: UnitOfWorkFactory, milestone_id: int) -> None:
    with factory() as uow:
        amount = uow.milestones.get(milestone_id).amount_cents
    refunds.cancel_and_refund(factory(), milestone_id, amount, CANCEL_REASON)


def _subscribe_agency(factory: UnitOfWorkFactory, gateway: PaymentGateway,
                      worker: OutboxWorker) -> None:
    """The demo is an Agency account on the Agency Pro plan, its first invoice paid."""
    subscriptions.set_account_type(factory(), AccountType.AGENCY)
    plans = {plan.name: plan for plan in subscriptions.available_plans(gateway)}
    subscriptions.subscribe(factory(), plans["Agency Pro"], gateway.mode)
    worker.run_once(reconcile=False)
    subscriptions.sync(factory, gateway)
