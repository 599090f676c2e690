"""The app's own services and read side on a provisioned team workspace, each step run by
the member whose role it is (their own login), against the Stripe emulator."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.domain.roles import Capability, Role
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.persistence.read_side import SqlReadSide
from opentrain_desk.persistence.team_security import refused_capability
from opentrain_desk.services import billing, funding, payouts
from opentrain_desk.services import jobs as services
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from opentrain_desk.services.workspace_settings import CompanyDetails, save_company
from tests.integration.team_fixtures import team  # noqa: F401 - fixture


def test_a_hire_fund_review_approve_round_as_the_members_whose_work_it_is(
        team, gateway, sandbox):  # noqa: F811
    def factory(role: Role) -> UnitOfWorkFactory:
        return UnitOfWorkFactory(team.engine(role), actor=team.login(role))

    owner, finance, manager = factory(Role.OWNER), factory(Role.FINANCE), factory(Role.MANAGER)
    accountant, viewer = factory(Role.ACCOUNTANT), factory(Role.VIEWER)
    from opentrain_desk.domain.milestones import MilestoneDraft
    from opentrain_desk.domain.money import Money
    job_id = services.create_job(owner(), "Code review RLHF")
    hired = services.hire_trainer(manager(), job_id, "Ana Lima", "ana@example.com",
                                  MilestoneDraft("Batch 1", Money.parse("1,250.00")))
    m_id = hired.milestone_id
    billing.add_test_card(finance, gateway, "pm_card_visa")
    funding.queue_funding(finance(), m_id, "test")
    worker = OutboxWorker(finance, lambda: gateway, lease=timedelta(0))
    worker.run_once()
    services.record_submission(manager(), m_id, "done", "https://example.com/d")
    account = payouts.ensure_account(finance, gateway, hired.trainer_id)
    sandbox.complete_onboarding(account)
    payouts.refresh_account(finance, gateway, hired.trainer_id)
    payouts.approve_milestone(finance(), m_id)
    worker.run_once()
    with owner() as uow:
        milestone = uow.milestones.get(m_id)
        assert milestone.status is MilestoneStatus.PAID
        assert milestone.payout_status is PayoutStatus.PAID_OUT
        assert milestone.approved_by == team.login(Role.FINANCE)
        actors = {entry.actor for entry in uow.audit_log.for_entity("milestone", m_id)}
    assert actors == {team.login(Role.MANAGER), team.login(Role.FINANCE)}
    save_company(accountant, CompanyDetails(name="Acme Agency", email="books@acme.test"))

    # the read side works for every role; the transfer id only for those who may see it
    finance_row = SqlReadSide(team.engine(Role.FINANCE)).payment_history()[0]
    accountant_read = SqlReadSide(team.engine(Role.ACCOUNTANT))
    accountant_row = accountant_read.payment_history()[0]
    assert finance_row.transfer_id.startswith("tr_") and not accountant_row.transfer_id
    assert accountant_read.count_invoices() >= 2  # funding and payout
    assert SqlReadSide(team.engine(Role.VIEWER)).milestone(m_id).status is \
        MilestoneStatus.PAID

    # the services' writes fail in the database for roles that may not make them
    with pytest.raises(sa.exc.DBAPIError) as refused:
        services.create_job(viewer(), "Nope")
    assert "permission denied" in str(refused.value)
    second = services.add_milestone(manager(), hired.contract_id,
                                    MilestoneDraft("Batch 2", Money.parse("10.00")))
    funding.queue_funding(finance(), second, "test")
    worker.run_once()
    services.record_submission(manager(), second, "done too")
    with pytest.raises(sa.exc.DBAPIError) as refused:
        payouts.approve_milestone(manager(), second)
    assert refused_capability(refused.value) is Capability.APPROVE
    with pytest.raises(sa.exc.DBAPIError) as refused:
        save_company(finance, CompanyDetails(name="Finance was here"))
    assert refused_capability(refused.value) is Capability.COMPANY_DETAILS
