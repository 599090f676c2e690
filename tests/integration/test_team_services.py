"""The app's own services and read side on a provisioned team workspace, each step run by
the member whose role it is (their own login), against the Stripe emulator."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.domain.roles import Capability, Role, RoleRefused
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

    # the services refuse what a role may not do …
    with pytest.raises(RoleRefused, match=r"Your role \(Viewer\) cannot"):
        services.create_job(viewer(), "Nope")
    second = services.add_milestone(manager(), hired.contract_id,
                                    MilestoneDraft("Batch 2", Money.parse("10.00")))
    funding.queue_funding(finance(), second, "test")
    worker.run_once()
    services.record_submission(manager(), second, "done too")
    with pytest.raises(RoleRefused):
        payouts.approve_milestone(manager(), second)
    # … and a client that lies about who it is (the Manager's connection claiming to be the
    # Owner) gets past them, but not past the database
    forged = UnitOfWorkFactory(team.engine(Role.MANAGER), actor=team.login(Role.OWNER))
    with pytest.raises(sa.exc.DBAPIError) as refused:
        payouts.approve_milestone(forged(), second)
    assert refused_capability(refused.value) is Capability.APPROVE
    forged = UnitOfWorkFactory(team.engine(Role.FINANCE), actor=team.login(Role.OWNER))
    with pytest.raises(sa.exc.DBAPIError) as refused:
        save_company(forged, CompanyDetails(name="Finance was here"))
    assert refused_capability(refused.value) is Capability.COMPANY_DETAILS
    with pytest.raises(sa.exc.DBAPIError) as refused:
        services.create_job(UnitOfWorkFactory(team.engine(Role.VIEWER),
                                              actor=team.login(Role.OWNER))(), "Nope")
    assert "permission denied" in str(refused.value)


def test_settings_team_through_the_postgres_team_admin(team):  # noqa: F811
    """services/team_admin.py (Settings → Team) as the Owner's own login with the
    PostgreSQL TeamAdmin: the member row in the service's unit of work, the login beside it."""
    import uuid

    from opentrain_desk.persistence.team_members import PgTeamAdmin, TeamError
    from opentrain_desk.services import team_admin
    owner_engine = team.engine(Role.OWNER)
    owner = UnitOfWorkFactory(owner_engine, actor=team.login(Role.OWNER))
    admin = PgTeamAdmin(owner_engine)
    name = f"Mia {uuid.uuid4().hex[:8]}"
    invited = team_admin.invite(owner, admin, name, Role.MANAGER)
    mia = team.engine(team_members_credentials(invited))
    with mia.connect() as conn:
        assert conn.scalar(sa.text("SELECT current_user")) == invited.login
        conn.execute(sa.text("INSERT INTO jobs (title, created_at) VALUES ('Hers', now())"))
        conn.commit()
    assert admin.password_is_temporary(invited.login)
    with pytest.raises(TeamError, match="at least 12"):
        admin.change_own_password(invited.login, invited.password, "short")
    admin.change_own_password(invited.login, invited.password, "a much longer secret")
    assert not admin.password_is_temporary(invited.login)

    team_admin.change_role(owner, admin, invited.member.id, Role.VIEWER)
    with mia.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            conn.execute(sa.text("INSERT INTO jobs (title, created_at) VALUES ('x', now())"))
    team_admin.set_active(owner, admin, invited.member.id, False)
    mia.dispose()
    with pytest.raises(sa.exc.OperationalError, match="not permitted to log in"):
        with team.engine(team_members_credentials(invited)).connect():
            pass
    team_admin.set_active(owner, admin, invited.member.id, True)
    password = team_admin.reset_password(owner, admin, invited.member.id)
    assert admin.password_is_temporary(invited.login)
    again = team.engine(team_members_credentials(invited, password))
    with again.connect() as conn:  # back as a Viewer, the role the team list shows
        assert conn.scalar(sa.text("SELECT pg_has_role(current_user, :g, 'MEMBER')"),
                           {"g": f"{team.prefix}_viewer"})
    # the last Owner stays, in the service and in the database
    with pytest.raises(Exception, match="Owner"):
        team_admin.change_role(owner, admin, 1, Role.VIEWER)
    with pytest.raises(TeamError, match="not a member"):
        admin.reset_password("postgres", "whatever-it-is")


def team_members_credentials(invited, password: str | None = None):
    from opentrain_desk.persistence.team_members import Credentials
    return Credentials(invited.login, password or invited.password)
