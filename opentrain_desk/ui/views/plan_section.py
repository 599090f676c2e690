"""Settings → Plan: account type and the agency subscription (billed separately)."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout, QWidget)

from ...domain.subscriptions import AccountType, Plan, SubscriptionStatus
from ...domain.money import format_cents
from ...services import subscriptions
from ..context import AppContext
from ..tasks import user_message
from ..widgets.messages import confirm


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text, objectName=name)
    button.setAccessibleName(text.replace("&&", "&"))
    return button


class PlanSection(QGroupBox):
    changed = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Plan", parent, objectName="planGroup")
        self.ctx = ctx
        self.row = None
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
            "subscribe": _button("Subscribe", "subscribeButton"),
            "change": _button("Change to this plan", "changePlanButton"),
            "cancel": _button("Cancel at period end", "cancelPlanButton"),
            "resume": _button("Resume plan", "resumePlanButton"),
            "sync": _button("Sync now", "syncPlanButton"),
            "renew": _button("End period now (sandbox)", "renewPlanButton"),
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
        factory = self.ctx.uow

        def read():
            with factory() as uow:
                return subscriptions.account_type(uow), subscriptions.current(uow)

        self.ctx.runner.run(read, lambda result: self._show(*result))
        gateway = self._gateway()
        if gateway is not None and self.ctx.net is not None and self.plans.count() == 0:
            self.ctx.net.run(self, partial(subscriptions.available_plans, gateway), self._show_plans,
                             lambda error: self._fail(user_message(error)))

    def _gateway(self):
        return self.ctx.stripe.gateway() if self.ctx.stripe else None

    def _show(self, account: AccountType, row) -> None:
        self.row = row
        self.account.setCurrentIndex(self.account.findData(account))
        status = SubscriptionStatus.from_stripe(row.status) if row else SubscriptionStatus.NONE
        self.required.setText(
            "This account type needs an active plan to hire and fund." if account.requires_plan
            else "Direct employers can hire without a plan.")
        self.status.setText(_describe(row, status))
        self.status.setProperty("role", "error" if account.requires_plan and not status.usable
                                else "")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
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

    def _queue(self, fn: Callable[..., Any]) -> None:
        self.error.hide()
        mode = self.ctx.stripe.mode if self.ctx.stripe else None
        if mode is None:
            self._fail("Connect Stripe first (Settings → Stripe).")
            return
        self.ctx.runner.run(partial(fn, mode), self._queued,
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
            self._queue(lambda mode: subscriptions.subscribe(self.ctx.uow(), plan, mode))

    def change(self) -> None:
        """Ask first, with the price difference and when it applies."""
        plan = self._plan()
        if plan is None or self.row is None:
            return
        confirm(self.window(), "confirmChangePlan", "Change plan", change_plan_text(
                    self.row, plan), "Change plan", partial(self._change, plan))

    def _change(self, plan: Plan) -> None:
        self._queue(lambda mode: subscriptions.change_plan(self.ctx.uow(), plan, mode))

    def cancel(self) -> None:
        self._queue(lambda mode: subscriptions.cancel_at_period_end(self.ctx.uow(), mode))

    def resume(self) -> None:
        self._queue(lambda mode: subscriptions.resume(self.ctx.uow(), mode))

    def sync(self) -> None:
        if self.ctx.sync is not None:
            self.ctx.sync.sync_now()

    def _account_chosen(self, _index: int) -> None:
        kind = self.account.currentData()
        self.ctx.runner.run(partial(subscriptions.set_account_type, self.ctx.uow(), kind),
                            lambda _r: (self.load(), self.changed.emit()))

    def renew_sandbox(self) -> None:
        """Sandbox only: the billing period ends now (Stripe renews or cancels)."""
        sandbox_url = self.ctx.stripe.sandbox_url if self.ctx.stripe else None
        sub_id = self.row.stripe_subscription_id if self.row else None
        if not sandbox_url or not sub_id or self.ctx.net is None:
            return
        import requests

        def renew() -> None:
            requests.post(f"{sandbox_url}/_sandbox/subscriptions/{sub_id}/renew",
                          timeout=10).raise_for_status()

        self.ctx.net.run(self, renew, lambda _r: self.sync(),
                         lambda error: self._fail(user_message(error)))


def change_plan_text(row, plan: Plan) -> str:
    """What a plan change costs and when: Stripe prorates from today (its default)."""
    difference = plan.amount_cents - row.amount_cents
    if difference > 0:
        price = f"{format_cents(difference)} more per {plan.interval}"
    elif difference < 0:
        price = f"{format_cents(-difference)} less per {plan.interval}"
    else:
        price = "the same price"
    renews = (f" (next renewal {row.current_period_end:%b %d, %Y})"
              if row.current_period_end is not None else "")
    return (f"Change from {row.plan_name} ({format_cents(row.amount_cents)} / {row.interval}) "
            f"to {plan.label}? That is {price}.\n\nThe change applies now: Stripe credits "
            f"the unused part of the current period and charges the rest at the new price "
            f"on your next invoice{renews}.")


def _describe(row, status: SubscriptionStatus) -> str:
    if row is None:
        return "No plan"
    text = f"{row.plan_name} — {format_cents(row.amount_cents)} / {row.interval} · {status.label}"
    if row.current_period_end is not None:
        end = f"{row.current_period_end:%b %d, %Y}"
        text += f" · {'ends' if row.cancel_at_period_end else 'renews'} {end}"
    if status is SubscriptionStatus.PAST_DUE:
        text += " — the last renewal payment failed: update the payment method, then Sync."
    if status is SubscriptionStatus.INCOMPLETE and not row.stripe_subscription_id:
        text += " — being sent to Stripe…"
    return text
