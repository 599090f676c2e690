"""Every write use case refuses a role that may not do it, with the same words whatever
the front-end ("Your role (Viewer) cannot …"); nothing is written and nothing is sent."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.roles import Capability, Role, RoleRefused
from opentrain_desk.domain.subscriptions import AccountType, Plan
from opentrain_desk.payments.connection import StripeConnection
from opentrain_desk.persistence.read_side import SqlReadSide
from opentrain_desk.services import (billing, disputes, funding, jobs, notifications, payouts,
                                     people, refunds, stripe_check, subscriptions,
                                     workspace_settings)
from opentrain_desk.services.read_models import AuditFilters
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory

NOW = datetime(2024, 5, 2, 14, 2, tzinfo=timezone.utc)
PLAN = Plan("price_team", "Team", 4900, "month")


def add_member(factory, login: str, role: Role, name: str = "") -> None:
    with factory() as uow:
        uow.members.add(login, name or login.title(), role.value, NOW)
        uow.commit()


def as_member(factory, login: str, role: Role, name: str = "") -> UnitOfWorkFactory:
    add_member(factory, login, role, name)
    return UnitOfWorkFactory(factory.engine, actor=login)


@pytest.fixture
def books(factory):
    """A job, a contract and its milestone, made by the (solo) Owner."""
    job_id = jobs.create_job(factory(), "Code review RLHF")
    hired = jobs.hire_trainer(factory(), job_id, "Ana Lima", "ana@example.com",
                              MilestoneDraft("Batch 1", Money.parse("1,250.00")))
    return job_id, hired


class _Secrets:
    def get(self, name):
        return None

    def set(self, name, secret):
        raise AssertionError("a refused role must not reach the keyring")

    def delete(self, name):
        raise AssertionError("a refused role must not reach the keyring")

    def backend_name(self):
        return "memory"


class _NoStripe:
    """Any call means the role check came too late."""

    mode = "test"

    def __getattr__(self, name):
        raise AssertionError(f"a refused role reached Stripe ({name})")


DRAFT = MilestoneDraft("Batch 2", Money.parse("100.00"))

# (label, capability, call(factory of the refused member, books))
WRITES = [
    ("create job", Capability.MANAGE_JOBS, lambda f, b: jobs.create_job(f(), "New")),
    ("archive job", Capability.MANAGE_JOBS, lambda f, b: jobs.archive_job(f(), b[0])),
    ("restore job", Capability.MANAGE_JOBS, lambda f, b: jobs.restore_job(f(), b[0])),
    ("hire", Capability.HIRE, lambda f, b: jobs.hire_trainer(
        f(), b[0], "Bo", "bo@example.com", DRAFT)),
    ("add milestone", Capability.EDIT_MILESTONES,
     lambda f, b: jobs.add_milestone(f(), b[1].contract_id, DRAFT)),
    ("edit milestone", Capability.EDIT_MILESTONES,
     lambda f, b: jobs.edit_milestone(f(), b[1].milestone_id, DRAFT)),
    ("delete milestone", Capability.EDIT_MILESTONES,
     lambda f, b: jobs.delete_milestone(f(), b[1].milestone_id)),
    ("record submission", Capability.RECORD_SUBMISSION,
     lambda f, b: jobs.record_submission(f(), b[1].milestone_id, "done")),
    ("request changes", Capability.REQUEST_CHANGES,
     lambda f, b: jobs.request_changes(f(), b[1].milestone_id, "redo")),
    ("fund", Capability.FUND,
     lambda f, b: funding.queue_funding(f(), b[1].milestone_id, "test")),
    ("cancel funding", Capability.FUND,
     lambda f, b: funding.cancel_funding(f(), b[1].milestone_id)),
    ("approve", Capability.APPROVE,
     lambda f, b: payouts.approve_milestone(f(), b[1].milestone_id)),
    ("retry payout", Capability.APPROVE,
     lambda f, b: payouts.retry_payout(f(), b[1].milestone_id)),
    ("onboarding link", Capability.APPROVE,
     lambda f, b: payouts.onboarding_link(f, _NoStripe(), b[1].trainer_id)),
    ("refund failed payout", Capability.REFUND,
     lambda f, b: payouts.refund_failed_payout(f(), b[1].milestone_id, "why")),
    ("cancel & refund", Capability.REFUND,
     lambda f, b: refunds.cancel_and_refund(f(), b[1].milestone_id, 100, "why")),
    ("adopt charge", Capability.FUND,
     lambda f, b: stripe_check.adopt_charge(f, _NoStripe(), "pi_1")),
    ("refund unrecorded charge", Capability.REFUND,
     lambda f, b: stripe_check.queue_refund(f(), "pi_1", 100, "test")),
    ("add card", Capability.BILLING,
     lambda f, b: billing.add_test_card(f, _NoStripe(), "pm_card_visa")),
    ("add bank account", Capability.BILLING,
     lambda f, b: billing.add_test_bank_account(f, _NoStripe(), "000123456789")),
    ("default card", Capability.BILLING,
     lambda f, b: billing.set_default(f, _NoStripe(), "pm_1")),
    ("remove card", Capability.BILLING,
     lambda f, b: billing.remove_card(f, _NoStripe(), "pm_1")),
    ("card setup", Capability.BILLING,
     lambda f, b: billing.start_card_setup(f, _NoStripe())),
    ("finish card setup", Capability.BILLING,
     lambda f, b: billing.finish_card_setup(f, _NoStripe(), "cs_1")),
    ("dispute evidence", Capability.REFUND,
     lambda f, b: disputes.save_evidence(f, _NoStripe(), "dp_1", {}, True)),
    ("account type", Capability.PLAN,
     lambda f, b: subscriptions.set_account_type(f(), AccountType.AGENCY)),
    ("subscribe", Capability.PLAN, lambda f, b: subscriptions.subscribe(f(), PLAN, "test")),
    ("change plan", Capability.PLAN,
     lambda f, b: subscriptions.change_plan(f(), PLAN, "test")),
    ("cancel plan", Capability.PLAN,
     lambda f, b: subscriptions.cancel_at_period_end(f(), "test")),
    ("resume plan", Capability.PLAN, lambda f, b: subscriptions.resume(f(), "test")),
    ("company details", Capability.COMPANY_DETAILS,
     lambda f, b: workspace_settings.save_company(
         f, workspace_settings.CompanyDetails(name="Mine now"))),
    ("logo", Capability.COMPANY_DETAILS, lambda f, b: workspace_settings.set_logo(f, "")),
    ("mark message sent", Capability.MESSAGES, lambda f, b: notifications.mark_sent(f(), 1)),
    ("stripe key", Capability.STRIPE_KEY, lambda f, b: StripeConnection(
        f, _Secrets(), gateway_factory=lambda *a, **k: _NoStripe()).save_key("sk_test_x")),
    ("remove stripe key", Capability.STRIPE_KEY,
     lambda f, b: StripeConnection(f, _Secrets()).remove_key()),
]


def _audit_count(factory) -> int:
    return SqlReadSide(factory.engine).count_audit(AuditFilters())


@pytest.mark.parametrize("label, capability, call", WRITES, ids=[w[0] for w in WRITES])
def test_a_viewer_is_refused_every_write(factory, books, label, capability, call):
    viewer = as_member(factory, "vera", Role.VIEWER, "Vera Viewer")
    entries = _audit_count(factory)
    with pytest.raises(RoleRefused) as refused:
        call(viewer, books)
    assert refused.value.capability is capability
    assert str(refused.value).startswith(f"Your role (Viewer) cannot {capability.value}.")
    assert _audit_count(factory) == entries  # nothing written


def test_an_accountant_cannot_approve_but_can_save_company_details(factory, books):
    accountant = as_member(factory, "acc", Role.ACCOUNTANT, "Ada Accountant")
    with pytest.raises(RoleRefused, match=r"^Your role \(Accountant\) cannot approve "):
        payouts.approve_milestone(accountant(), books[1].milestone_id)
    assert workspace_settings.save_company(
        accountant, workspace_settings.CompanyDetails(name="Agency Ltd"))


def test_a_manager_hires_but_cannot_fund(factory, books):
    manager = as_member(factory, "max", Role.MANAGER)
    jobs.add_milestone(manager(), books[1].contract_id, DRAFT)
    with pytest.raises(RoleRefused, match="fund milestones"):
        jobs.hire_trainer(manager(), books[0], "Bo", "bo@example.com", DRAFT, fund_mode="test")


def test_a_deactivated_member_is_refused_everything(factory, books):
    gone = as_member(factory, "gone", Role.OWNER)
    with factory() as uow:
        row = uow.members.by_login("gone")
        uow.members.update(row.id, row.version, NOW, active=False)
        uow.commit()
    with pytest.raises(Exception, match="not a member of this workspace"):
        jobs.create_job(gone(), "Nope")


def test_anyone_may_mark_notifications_read_but_names_are_the_owners(factory, books):
    """Reading notifications is everyone's; member names are managed with the team (the
    database lets only an Owner write ``members``)."""
    viewer = as_member(factory, "vera", Role.VIEWER, "Vera")
    notifications.mark_read(viewer())
    with pytest.raises(RoleRefused, match="Your role \\(Viewer\\) cannot manage the team"):
        people.set_my_name(viewer(), "Vera Viewer")
    owner = as_member(factory, "olga", Role.OWNER, "Olga")
    assert people.set_my_name(owner(), "Olga Owner") == "Olga Owner"
    with factory() as uow:
        assert uow.members.by_login("olga").name == "Olga Owner"
