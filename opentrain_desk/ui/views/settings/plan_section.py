"""Settings → Plan: account type and the agency subscription (billed separately).

Reads and queued commands run on ``ctx.db``; Stripe's plan list on ``ctx.net``."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QVBoxLayout, QWidget)

from ....domain.subscriptions import AccountType, Plan, SubscriptionStatus
from ....services import plan_status, subscriptions
from ....services.plan_status import PlanState, SubscriptionView
from ...context import AppContext
from ...formatting import day, money
from ...ops import user_message
from ...widgets.messages import confirm
from .common import button, repolish
from .common import gateway as stripe_gateway

if TYPE_CHECKING:
    from ....services.unit_of_work import UnitOfWork


class PlanSection(QGroupBox):
    changed = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Plan", parent, objectName="planGroup")
        self.ctx = ctx
        self.row: SubscriptionView | None = None
        self.account = QComboBox(objectName="accountTypeCombo")
        for kind in AccountType:
            self.account.addItem(kind.value, kind)
        self.required = QLabel(objectName="planRequiredLabel", wordWrap=True)
        self.required.setProperty("role", "hint")
        self.status = QLabel("No plan", objectName="planStatusLabel", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.plans = QComboBox(objectName="plansCombo")
        self.error = QLabel(objectName="planErrorLabel", wordWrap=True)
        self.error.setProperty("role", "error")
        self.error.hide()
        self.buttons = {
            "subscribe": button("Subscribe", "subscribeButton"),
            "change": button("Change to this plan", "changePlanButton"),
            "cancel": button("Cancel at period end", "cancelPlanButton"),
            "resume": button("Resume plan", "resumePlanButton"),
            "sync": button("Sync now", "syncPlanButton"),
            "renew": button("End period now (sandbox)", "renewPlanButton"),
        }
        self._layout()
        self.account.activated.connect(self._account_chosen)
        for key, handler in (("subscribe", self.subscribe), ("change", self.change),
                             ("cancel", self.cancel), ("resume", self.resume),
                             ("sync", self.sync), ("renew", self.renew_sandbox)):
            self.buttons[key].clicked.connect(handler)
        if ctx.sync is not None:
            ctx.sync.paymentsChanged.connect(self.load)

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Account type:", self.account)
        form.addRow("", self.required)
        form.addRow("Current plan:", self.status)
        form.addRow("Plans:", self.plans)
        row = QHBoxLayout()
        for key in ("subscribe", "change", "cancel", "resume"):
            row.addWidget(self.buttons[key])
        row.addStretch()
        row.addWidget(self.buttons["sync"])
        row.addWidget(self.buttons["renew"])
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.error)
        note = QLabel("Plans are billed by Stripe to the default payment method, separately "
                      "from milestone charges; each paid plan invoice appears in Reports.",
                      wordWrap=True)
        note.setProperty("role", "hint")
        layout.addWidget(note)

    # -- loading --------------------------------------------------------------------------
    def load(self) -> None:
        self.ctx.db.run(self, partial(plan_status.plan_state, self.ctx.uow), self._show)
        gateway = stripe_gateway(self.ctx)
        if gateway is not None and self.plans.count() == 0:
            self.ctx.net.run(self, partial(subscriptions.available_plans, gateway),
                             self._show_plans, lambda error: self._fail(user_message(error)))

    def _show(self, state: PlanState) -> None:
        account, row = state.account, state.subscription
        self.row = row
        self.account.setCurrentIndex(self.account.findData(account))
        status = SubscriptionStatus.from_stripe(row.status) if row else SubscriptionStatus.NONE
        self.required.setText(
            "This account type needs an active plan to hire and fund." if account.requires_plan
            else "Direct employers can hire without a plan.")
        self.status.setText(_describe(row, status))
        self.status.setProperty("role", "error" if account.requires_plan and not status.usable
                                else "")
        repolish(self.status)
        live = row is not None and status not in (SubscriptionStatus.CANCELED,
                                                  SubscriptionStatus.INCOMPLETE_EXPIRED)
        self.buttons["subscribe"].setEnabled(not live)
        self.buttons["change"].setEnabled(live and bool(row and row.stripe_subscription_id))
        self.buttons["cancel"].setEnabled(live and not row.cancel_at_period_end)
        self.buttons["resume"].setEnabled(live and bool(row.cancel_at_period_end))
        sandbox = bool(self.ctx.stripe and self.ctx.stripe.is_sandbox)
        self.buttons["renew"].setVisible(sandbox and live)

    def _show_plans(self, plans: list[Plan]) -> None:
        self.plans.clear()
        for plan in plans:
            self.plans.addItem(plan.label, plan)

    # -- commands ---------------------------------------------------------------------------
    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _queue(self, fn: Callable[[UnitOfWork, str], Any]) -> None:
        """Queue a subscription command (one unit of work, made on the database thread)."""
        self.error.hide()
        mode = self.ctx.stripe.mode if self.ctx.stripe else None
        if mode is None:
            self._fail("Connect Stripe first (Settings → Stripe).")
            return
        factory = self.ctx.uow
        self.ctx.db.run(self, lambda: fn(factory(), mode), self._queued,
                        lambda error: self._fail(user_message(error)))

    def _queued(self, _result) -> None:
        if self.ctx.sync is not None:
            self.ctx.sync.wake()
        self.load()
        self.changed.emit()

    def _plan(self) -> Plan | None:
        plan = self.plans.currentData()
        if plan is None:
            self._fail("No plans are available from Stripe yet.")
        return plan

    def subscribe(self) -> None:
        if (plan := self._plan()) is not None:
            self._queue(lambda uow, mode: subscriptions.subscribe(uow, plan, mode))

    def change(self) -> None:
        """Ask first, with the price difference and when it applies."""
        plan = self._plan()
        if plan is None or self.row is None:
            return
        confirm(self.window(), "confirmChangePlan", "Change plan", change_plan_text(
                    self.row, plan), "Change plan", partial(self._change, plan))

    def _change(self, plan: Plan) -> None:
        self._queue(lambda uow, mode: subscriptions.change_plan(uow, plan, mode))

    def cancel(self) -> None:
        self._queue(subscriptions.cancel_at_period_end)

    def resume(self) -> None:
        self._queue(subscriptions.resume)

    def sync(self) -> None:
        if self.ctx.sync is not None:
            self.ctx.sync.sync_now()

    def _account_chosen(self, _index: int) -> None:
        kind, factory = self.account.currentData(), self.ctx.uow
        self.ctx.db.run(self, lambda: subscriptions.set_account_type(factory(), kind),
                        self._account_saved, lambda error: self._fail(user_message(error)))

    def _account_saved(self, _result: Any) -> None:
        self.load()
        self.changed.emit()

    def renew_sandbox(self) -> None:
        """Sandbox only: the billing period ends now (Stripe renews or cancels)."""
        sandbox_url = self.ctx.stripe.sandbox_url if self.ctx.stripe else None
        sub_id = self.row.stripe_subscription_id if self.row else None
        if not sandbox_url or not sub_id:
            return
        self.ctx.net.run(self, partial(plan_status.end_sandbox_period, sandbox_url, sub_id),
                         lambda _r: self.sync(), lambda error: self._fail(user_message(error)))


def change_plan_text(row: SubscriptionView, plan: Plan) -> str:
    """What a plan change costs and when: Stripe prorates from today (its default)."""
    difference = plan.amount_cents - row.amount_cents
    if difference > 0:
        price = f"{money(difference)} more per {plan.interval}"
    elif difference < 0:
        price = f"{money(-difference)} less per {plan.interval}"
    else:
        price = "the same price"
    renews = (f" (next renewal {day(row.current_period_end)})"
              if row.current_period_end is not None else "")
    return (f"Change from {row.plan_name} ({money(row.amount_cents)} / {row.interval}) "
            f"to {plan.label}? That is {price}.\n\nThe change applies now: Stripe credits "
            f"the unused part of the current period and charges the rest at the new price "
            f"on your next invoice{renews}.")


def _describe(row: SubscriptionView | None, status: SubscriptionStatus) -> str:
    if row is None:
        return "No plan"
    text = f"{row.plan_name} — {money(row.amount_cents)} / {row.interval} · {status.label}"
    if row.current_period_end is not None:
        end = day(row.current_period_end)
        text += f" · {'ends' if row.cancel_at_period_end else 'renews'} {end}"
    if status is SubscriptionStatus.PAST_DUE:
        text += " — the last renewal payment failed: update the payment method, then Sync."
    if status is SubscriptionStatus.INCOMPLETE and not row.stripe_subscription_id:
        text += " — being sent to Stripe…"
    return text
