"""A provisioned team workspace on PostgreSQL with one member per role, and raw SQL as a
member (their own login and password). The cluster-wide roles are dropped afterwards."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.roles import Role
from opentrain_desk.persistence import database, team_members, team_security
from opentrain_desk.persistence.orm import (contracts, jobs, milestones, stripe_operations,
                                            trainers, workspace_settings)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


@dataclass
class Team:
    url: str
    admin: sa.Engine
    prefix: str
    members: dict[Role, team_members.Credentials]
    engines: list[sa.Engine]

    def login(self, role: Role) -> str:
        return self.members[role].login

    def engine(self, role: Role | team_members.Credentials, **kw) -> sa.Engine:
        creds = self.members[role] if isinstance(role, Role) else role
        url = sa.engine.make_url(self.url).set(username=creds.login, password=creds.password)
        engine = database.create_engine(url, **kw)
        self.engines.append(engine)
        return engine


def drop_team_roles(prefix: str, logins: tuple[str, ...] = ()) -> None:
    from tests.conftest import PG_ADMIN_URL
    admin = sa.create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        team_members.drop_roles(conn, prefix, logins)
    admin.dispose()


@pytest.fixture
def team(postgres_url):
    admin = database.create_engine(postgres_url)
    database.migrate(admin)
    with admin.begin() as conn:
        prefix = team_security.provision(conn)
        members = {role: team_members.add_member(conn, f"{role.label} Person", role)
                   for role in Role}
    made = Team(postgres_url, admin, prefix, members, [])
    try:
        yield made
    finally:
        for engine in made.engines:
            engine.dispose()
        with admin.connect() as conn:
            logins = tuple(conn.scalars(sa.text("SELECT login FROM members")))
        admin.dispose()
        drop_team_roles(prefix, logins)


@dataclass(frozen=True)
class Books:
    not_funded: int
    active: int
    pending: int
    operation: str


def seed_books(admin: sa.Engine) -> Books:
    """A job, a contract and milestones in three states plus a succeeded funding (written
    by the administrator, whom the guards let through)."""
    with admin.begin() as conn:
        conn.execute(jobs.insert().values(id=1, title="Code review", created_at=NOW))
        conn.execute(trainers.insert().values(id=1, name="Ana Lima", email="ana@example.com",
                                              created_at=NOW))
        conn.execute(contracts.insert().values(id=1, job_id=1, trainer_id=1,
                                               hired_on=date(2026, 3, 1), created_at=NOW))
        for m_id, status in ((1, "NOT_FUNDED"), (2, "ACTIVE_FUNDED"),
                             (3, "PENDING_APPROVAL")):
            funded = NOW if status != "NOT_FUNDED" else None
            conn.execute(milestones.insert().values(
                id=m_id, contract_id=1, position=m_id, title=f"Batch {m_id}",
                amount_cents=125_000, status=status, payout_status="NOT_STARTED",
                created_at=NOW, updated_at=NOW, funded_at=funded,
                payment_intent_id=f"pi_{m_id}" if funded else None))
        conn.execute(stripe_operations.insert().values(
            id="op1", kind="FUND_MILESTONE", milestone_id=3, status="SUCCEEDED",
            idempotency_key="idem-secret-1", amount_cents=125_000, customer_id="cus_1",
            payment_method_id="pm_1", stripe_object_id="pi_3", created_at=NOW,
            updated_at=NOW))
        conn.execute(workspace_settings.insert().values(key="stripe.test.customer_id",
                                                        value="cus_1"))
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('milestones', 'id'), 3)"))
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('jobs', 'id'), 1)"))
    return Books(1, 2, 3, "op1")


def refused(conn, sql: str, params: dict | None = None) -> BaseException:
    """Run ``sql`` expecting the database to refuse it; returns the error (rolled back)."""
    try:
        conn.execute(sa.text(sql), params or {})
    except sa.exc.DBAPIError as error:
        conn.rollback()
        return error
    conn.rollback()
    raise AssertionError(f"the database allowed: {sql}")


def sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None), "sqlstate", None)
