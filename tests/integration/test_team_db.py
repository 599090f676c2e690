"""The database enforces the roles: raw SQL as each member's own login (PostgreSQL)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.roles import Capability, Role
from opentrain_desk.persistence import team_members
from opentrain_desk.persistence.orm import metadata
from opentrain_desk.persistence.team_security import refused_capability
from tests.integration.team_fixtures import refused, seed_books, sqlstate
from tests.integration.team_fixtures import team  # noqa: F401 - fixture

APPROVE = "UPDATE milestones SET status = 'PAID', approved_at = now() WHERE id = :id"


def test_accountant_cannot_approve_change_amounts_or_read_stripe_ids(team):  # noqa: F811
    books = seed_books(team.admin)
    with team.engine(Role.ACCOUNTANT).connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM milestones")) == 3
        for sql, params in ((APPROVE, {"id": books.pending}),
                            ("UPDATE milestones SET amount_cents = 1 WHERE id = :id",
                             {"id": books.not_funded}),
                            ("SELECT idempotency_key FROM stripe_operations", None),
                            ("SELECT stripe_object_id FROM stripe_operations", None),
                            ("SELECT customer_id, payment_method_id FROM stripe_operations",
                             None),
                            ("SELECT * FROM stripe_operations", None),
                            ("INSERT INTO stripe_operations (id) VALUES ('x')", None)):
            assert sqlstate(refused(conn, sql, params)) == "42501", sql
        # what the read side needs stays readable; the view blanks the ids
        row = conn.execute(sa.text("SELECT status, amount_cents, charge_id FROM "
                                   "stripe_operations")).one()
        assert row.amount_cents == 125_000
        view = conn.execute(sa.text("SELECT idempotency_key, stripe_object_id, customer_id, "
                                    "payment_method_id FROM stripe_operations_read")).one()
        assert tuple(view) == ("", "", "", "")
        # the saved Stripe customer is not even listed; company details may be changed
        keys = conn.scalars(sa.text("SELECT key FROM workspace_settings")).all()
        assert "stripe.test.customer_id" not in keys
        conn.execute(sa.text("INSERT INTO workspace_settings VALUES ('company.name', 'Acme')"))
        conn.commit()
        error = refused(conn, "INSERT INTO workspace_settings VALUES ('stripe.key_hint', 'x')")
        assert refused_capability(error) is Capability.STRIPE_KEY
        assert "your role cannot change the Stripe key" in str(error)
        error = refused(conn, "INSERT INTO workspace_settings VALUES "
                              "('company.account_type', 'BUSINESS')")
        assert refused_capability(error) is Capability.PLAN


def _every_write(table: sa.Table) -> list[str]:
    first = next(iter(table.columns)).name
    return [f"INSERT INTO {table.name} DEFAULT VALUES",
            f"UPDATE {table.name} SET {first} = {first}",
            f"DELETE FROM {table.name}"]


def test_viewer_can_write_nothing(team):  # noqa: F811
    seed_books(team.admin)
    tables = [*metadata.sorted_tables]
    with team.engine(Role.VIEWER).connect() as conn:
        for table in tables:
            conn.execute(sa.select(sa.func.count()).select_from(
                table if table.name != "stripe_operations" else sa.table(table.name)))
            conn.rollback()
            for sql in _every_write(table):
                assert sqlstate(refused(conn, sql)) == "42501", sql
        assert sqlstate(refused(conn, "TRUNCATE audit_log")) == "42501"
        # the one thing every member may write: the shared "read" mark of notifications
        conn.execute(sa.text("UPDATE notifications SET read_at = now()"))
        conn.rollback()
        assert sqlstate(refused(conn, "CREATE TABLE sneaky (id int)")) == "42501"
        with pytest.raises(team_members.TeamError, match="cannot manage the team"):
            team_members.add_member(conn, "Mallory", Role.OWNER)


def test_manager_does_the_work_but_not_the_money(team):  # noqa: F811
    books = seed_books(team.admin)
    manager = team.login(Role.MANAGER)
    with team.engine(Role.MANAGER).connect() as conn:
        conn.execute(sa.text(
            "INSERT INTO milestones (contract_id, position, title, amount_cents, status, "
            "payout_status, created_at, updated_at) VALUES (1, 9, 'New', 500, 'NOT_FUNDED', "
            "'NOT_STARTED', now(), now())"))
        conn.execute(sa.text("UPDATE milestones SET amount_cents = 900, title = 'Edited', "
                             "updated_by = 'someone else' WHERE id = :id"),
                     {"id": books.not_funded})
        conn.execute(sa.text("UPDATE milestones SET status = 'PENDING_APPROVAL', "
                             "submission_note = 'done', submitted_at = now() WHERE id = :id"),
                     {"id": books.active})
        conn.execute(sa.text("UPDATE milestones SET status = 'ACTIVE_FUNDED', "
                             "status_note = 'fix' WHERE id = :id"), {"id": books.pending})
        conn.execute(sa.text("UPDATE jobs SET title = 'Renamed', updated_by = 'x'"))
        conn.commit()
        assert conn.scalar(sa.text("SELECT updated_by FROM milestones WHERE id = :id"),
                           {"id": books.not_funded}) == manager
        assert conn.scalar(sa.text("SELECT updated_by FROM jobs")) == manager
        cases = (
            (APPROVE, {"id": books.active}, None),  # (illegal from Pending back anyway)
            ("UPDATE milestones SET status = 'FUNDING' WHERE id = :id",
             {"id": books.not_funded}, Capability.FUND),
            ("UPDATE milestones SET status = 'REFUNDING' WHERE id = :id",
             {"id": books.pending}, Capability.REFUND),
            ("UPDATE milestones SET amount_cents = 1 WHERE id = :id", {"id": books.pending},
             Capability.FUND),
            ("UPDATE milestones SET payout_status = 'PAID_OUT' WHERE id = :id",
             {"id": books.pending}, Capability.FUND),
            # no settings at all for a Manager: a plain missing privilege
            ("INSERT INTO workspace_settings VALUES ('stripe.key_hint', 'x')", None, None),
        )
        for sql, params, capability in cases:
            error = refused(conn, sql, params)
            assert sqlstate(error) in ("42501", "23514"), sql
            if capability is not None:
                assert refused_capability(error) is capability, sql
        conn.execute(sa.text("UPDATE milestones SET status = 'PENDING_APPROVAL' WHERE id = "
                             ":id"), {"id": books.pending})
        conn.commit()
        error = refused(conn, APPROVE, {"id": books.pending})
        assert refused_capability(error) is Capability.APPROVE
        for sql in ("INSERT INTO stripe_operations (id) VALUES ('x')",
                    "UPDATE stripe_operations SET status = 'QUEUED'",
                    "INSERT INTO invoices DEFAULT VALUES",
                    "UPDATE milestones SET status = 'PAID' WHERE false"):
            if "WHERE false" in sql:
                conn.execute(sa.text(sql))  # touching no row is not a write
                continue
            assert sqlstate(refused(conn, sql)) == "42501", sql
        # re-pointing a funding at another milestone is the money side's
        error = refused(conn, "UPDATE stripe_operations SET milestone_id = 1")
        assert refused_capability(error) is Capability.SEND_PAYMENTS


def test_finance_moves_the_money_and_nothing_else(team):  # noqa: F811
    books = seed_books(team.admin)
    finance = team.login(Role.FINANCE)
    with team.engine(Role.FINANCE).connect() as conn:
        conn.execute(sa.text(APPROVE), {"id": books.pending})
        conn.execute(sa.text("UPDATE milestones SET status = 'FUNDING' WHERE id = :id"),
                     {"id": books.not_funded})
        conn.execute(sa.text("UPDATE stripe_operations SET attempts = 2"))
        conn.execute(sa.text("INSERT INTO workspace_settings VALUES ('stripe.mode', 'test')"))
        conn.commit()
        assert conn.scalar(sa.text("SELECT approved_by FROM milestones WHERE id = :id"),
                           {"id": books.pending}) == finance
        assert conn.scalar(sa.text("SELECT idempotency_key FROM stripe_operations")) == \
            "idem-secret-1"
        assert conn.scalar(sa.text("SELECT idempotency_key FROM stripe_operations_read")) == \
            "idem-secret-1"
        assert "stripe.test.customer_id" in conn.scalars(sa.text(
            "SELECT key FROM workspace_settings")).all()
        for sql, capability in (
                ("UPDATE milestones SET title = 'x' WHERE id = 2", Capability.EDIT_MILESTONES),
                ("UPDATE milestones SET status = 'PENDING_APPROVAL' WHERE id = 2",
                 Capability.RECORD_SUBMISSION),
                ("INSERT INTO workspace_settings VALUES ('company.name', 'x')",
                 Capability.COMPANY_DETAILS)):
            assert refused_capability(refused(conn, sql)) is capability, sql
        assert sqlstate(refused(conn, "INSERT INTO jobs (title, created_at) VALUES "
                                      "('x', now())")) == "42501"
        error = refused(conn, "UPDATE milestones SET status = 'NOT_FUNDED' WHERE id = 3")
        assert "cannot go from PAID to NOT_FUNDED" in str(error)


def test_the_last_owner_cannot_be_demoted_or_deactivated(team):  # noqa: F811
    owner = team.login(Role.OWNER)
    with team.admin.begin() as conn:
        with pytest.raises(team_members.TeamError, match="last active Owner"):
            team_members.change_role(conn, owner, Role.MANAGER)
    with team.admin.begin() as conn:
        with pytest.raises(team_members.TeamError, match="last active Owner"):
            team_members.deactivate(conn, owner)
    # not by hand either
    with team.engine(Role.OWNER).connect() as conn:
        error = refused(conn, "UPDATE members SET active = false WHERE role = 'owner'")
        assert "at least one active Owner" in str(error)
        assert sqlstate(refused(conn, "DELETE FROM members")) == "42501"
    with team.engine(Role.MANAGER).connect() as conn:
        assert sqlstate(refused(conn, "UPDATE members SET role = 'owner'")) == "42501"
    with team.engine(Role.OWNER).connect() as conn:
        # the Owner's own login administers the team (no administrator needed)
        second = team_members.add_member(conn, "Second Owner", Role.OWNER)
        conn.commit()
        team_members.change_role(conn, owner, Role.VIEWER)
        conn.commit()
    with team.engine(second).connect() as conn:
        with pytest.raises(team_members.TeamError, match="last active Owner"):
            team_members.deactivate(conn, second.login)
        conn.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="“boss” is not a role"):
            conn.execute(sa.text("SELECT otd_member_set_role(:login, 'boss')"),
                         {"login": owner})
        conn.rollback()
        with pytest.raises(team_members.TeamError, match="already exists"):
            team_members.add_member(conn, "second owner", Role.VIEWER)
        conn.rollback()
        # an Owner may not touch logins that are not members (e.g. the administrator)
        with pytest.raises(team_members.TeamError, match="not a member"):
            team_members.reset_password(conn, "postgres")
    with team.admin.connect() as conn:
        rows = {row.login: row for row in team_members.list_members(conn)}
    assert rows[owner].role == "viewer" and rows[second.login].role == "owner"
    # and even the administrator cannot leave the team without an Owner by hand
    with team.admin.connect() as conn:
        error = refused(conn, "UPDATE members SET active = false WHERE role = 'owner'")
        assert "at least one active Owner" in str(error)


def test_role_change_and_deactivation_hold_from_the_next_statement(team):  # noqa: F811
    seed_books(team.admin)
    accountant = team.members[Role.ACCOUNTANT]
    engine = team.engine(Role.ACCOUNTANT, )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("INSERT INTO workspace_settings VALUES ('company.name', 'A')"))
        with team.admin.begin() as admin:
            team_members.change_role(admin, accountant.login, Role.VIEWER)
        error = refused(conn, "UPDATE workspace_settings SET value = 'B' "
                              "WHERE key = 'company.name'")
        assert sqlstate(error) == "42501"
        assert conn.scalar(sa.text("SELECT count(*) FROM milestones")) == 3  # still reads
        with team.admin.begin() as admin:
            team_members.change_role(admin, accountant.login, Role.FINANCE)
        assert conn.scalar(sa.text("SELECT idempotency_key FROM stripe_operations")) == \
            "idem-secret-1"
        with team.admin.begin() as admin:
            team_members.deactivate(admin, accountant.login)
        # the open session is ended (or, where the Owner may not signal it, refused)
        error = refused(conn, "SELECT count(*) FROM milestones")
        assert isinstance(error, sa.exc.OperationalError) or sqlstate(error) == "42501"
    engine.dispose()
    with pytest.raises(sa.exc.OperationalError, match="not permitted to log in"):
        with team.engine(accountant).connect():
            pass
    with team.admin.begin() as admin:
        team_members.reactivate(admin, accountant.login)
    with team.engine(accountant).connect() as conn:  # back, in the role they had
        assert conn.scalar(sa.text("SELECT idempotency_key FROM stripe_operations")) == \
            "idem-secret-1"


def test_the_audit_actor_cannot_be_forged_and_the_log_is_append_only(team):  # noqa: F811
    manager = team.login(Role.MANAGER)
    with team.engine(Role.MANAGER).connect() as conn:
        conn.execute(sa.text("INSERT INTO audit_log (at, actor, entity, action) "
                             "VALUES (now(), 'Owner Person', 'milestone', 'approved')"))
        conn.commit()
        assert conn.scalar(sa.text("SELECT actor FROM audit_log")) == manager
    with team.engine(Role.OWNER).connect() as conn:
        for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log",
                    "TRUNCATE audit_log"):
            assert sqlstate(refused(conn, sql)) == "42501", sql
    with team.admin.connect() as conn:  # not even the administrator rewrites history
        assert "append-only" in str(refused(conn, "DELETE FROM audit_log"))


def test_passwords_are_strong_and_only_their_verifier_is_stored(team):  # noqa: F811
    creds = team.members[Role.VIEWER]
    assert len(creds.password) >= 24
    with team.admin.connect() as conn:
        stored = conn.scalar(sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :n"),
                             {"n": creds.login})
        assert stored.startswith("SCRAM-SHA-256$") and creds.password not in stored
        assert team_members.matches(creds.password, stored)
        new = team_members.reset_password(conn, creds.login)
        conn.commit()
        stored = conn.scalar(sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :n"),
                             {"n": creds.login})
    assert team_members.matches(new.password, stored)
    assert not team_members.matches(creds.password, stored)
    with team.engine(new).connect() as conn:  # a member changes their own password
        team_members.change_own_password(conn, "correct horse battery staple")
        conn.commit()
    with team.admin.connect() as conn:
        stored = conn.scalar(sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :n"),
                             {"n": creds.login})
    assert team_members.matches("correct horse battery staple", stored)
