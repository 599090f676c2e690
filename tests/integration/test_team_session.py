"""Issue 16's done-when: two app processes signed in as different members of one
PostgreSQL workspace (seat M, the Manager; seat F, the Finance member; each its own login,
``Workspace`` and payment worker, one shared Stripe emulator) pass a scripted session —
hire, fund, review, approve, refund, export — and every permission boundary on the way is
checked in the app (``RoleRefused``) and in raw SQL as that member's login (SQLSTATE
42501); an Accountant and a Viewer (third connections) try what they may not. At the end
the books: gapless invoice numbers, the audit naming each member, "Approved by" F's name,
one charge per funding and one transfer per payout on the emulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.roles import Capability, Role, RoleRefused
from opentrain_desk.persistence.orm import metadata
from opentrain_desk.persistence.read_side import SqlReadSide
from opentrain_desk.reports import exports
from opentrain_desk.services import billing, funding, payouts, refunds
from opentrain_desk.services import jobs as services
from opentrain_desk.services.read_models import InvoiceFilters
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from opentrain_desk.services.workspace_settings import CompanyDetails, save_company
from tests.integration.team_fixtures import refused, sqlstate
from tests.integration.team_fixtures import team  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
APPROVE = ("UPDATE milestones SET status = 'PAID', approved_at = now(), "
           "approved_by = current_user WHERE id = :id")


class SeatProcess:
    """One app process signed in as ``login``: a JSON command per line, an answer per line."""

    def __init__(self, team, role: Role, sandbox, home: Path) -> None:  # noqa: F811
        creds = team.members[role]
        self.login, self.role = creds.login, role
        self.log = home.with_suffix(".stderr")  # a file: a chatty seat never blocks on it
        home.mkdir(parents=True)
        with self.log.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "tests/integration/team_session_seat.py"),
                 team.url, sandbox.base_url, sandbox.api_key, creds.login, str(home)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        self.proc.stdin.write(json.dumps({"password": creds.password}) + "\n")
        self.proc.stdin.flush()
        assert self._answer() == {"ok": "ready"}

    def _answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"seat {self.role.label} died: "
                                 f"{self.log.read_text()[-3000:]}")
        return json.loads(line)

    def ask(self, op: str, *args) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, "args": list(args)}) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def do(self, op: str, *args):
        """``op`` must succeed; returns its result."""
        answer = self.ask(op, *args)
        assert "ok" in answer, (self.role.label, op, answer)
        return answer["ok"]

    def refused(self, op: str, *args) -> dict:
        answer = self.ask(op, *args)
        assert "error" in answer, (self.role.label, op, "was allowed")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def seats(team, sandbox, tmp_path):  # noqa: F811
    made: dict[Role, SeatProcess] = {}
    try:
        for role in (Role.MANAGER, Role.FINANCE):
            made[role] = SeatProcess(team, role, sandbox, tmp_path / role.name.lower())
        yield made[Role.MANAGER], made[Role.FINANCE]
    finally:
        for seat in made.values():
            seat.close()


def _app_refused(answer: dict, role: Role, verb: str) -> None:
    assert answer["error"] == "RoleRefused", answer
    assert answer["message"].startswith(f"Your role ({role.label}) cannot {verb}"), answer


def _sql_refused(answer: dict, capability: Capability | None = None) -> None:
    assert answer["sqlstate"] == "42501", answer
    if capability is not None:
        assert answer["capability"] == capability.name, answer


def test_two_seats_one_workspace_a_scripted_session(team, seats, sandbox, gateway,  # noqa: F811
                                                    tmp_path):
    m, f = seats
    names = {role: f"{role.label} Person" for role in Role}
    assert m.do("whoami") == {"name": names[Role.MANAGER], "role": "Manager",
                              "db_login": m.login}
    assert f.do("whoami") == {"name": names[Role.FINANCE], "role": "Finance",
                              "db_login": f.login}

    # hire: M creates the job and hires a trainer with a first milestone
    job_id = m.do("create_job", "Code review RLHF")
    hired = m.do("hire", job_id, "Ana Lima", "ana@example.com", "Batch 1", "1,250.00")
    first = hired["milestone_id"]
    # M may not fund: in the app and in raw SQL
    _app_refused(m.refused("fund", first), Role.MANAGER, "fund")
    _sql_refused(m.refused("raw", "UPDATE milestones SET status = 'FUNDING' WHERE id = :id",
                           {"id": first}), Capability.FUND)

    # fund: F saves a card and queues the funding; M's worker does not send, F's does
    assert f.do("add_card") is True
    f.do("fund", first)
    assert m.do("send") is False
    assert m.do("milestone", first)["status"] == "FUNDING"
    assert f.do("send") is True
    assert m.do("milestone", first)["status"] == "ACTIVE_FUNDED"

    # review: M records the submission, asks for changes, records the second submission
    m.do("submit", first, "first pass")
    m.do("request_changes", first, "Please add the edge cases.")
    assert m.do("milestone", first)["status"] == "ACTIVE_FUNDED"
    m.do("submit", first, "edge cases added")
    assert f.do("milestone", first)["status"] == "PENDING_APPROVAL"
    # F may not do the Manager's work
    _app_refused(f.refused("create_job", "Finance's own"), Role.FINANCE, "")

    # approve: M is refused by the app and, with the same UPDATE, by the database
    _app_refused(m.refused("approve", first), Role.MANAGER, "approve")
    _sql_refused(m.refused("raw", APPROVE, {"id": first}), Capability.APPROVE)
    assert f.do("milestone", first)["status"] == "PENDING_APPROVAL"
    account = f.do("ensure_account", hired["trainer_id"])
    sandbox.complete_onboarding(account)  # the trainer finishes Stripe's onboarding
    f.do("refresh_account", hired["trainer_id"])
    f.do("approve", first)
    assert m.do("send") is False
    assert f.do("send") is True
    assert m.do("raw", "SELECT status, payout_status FROM milestones WHERE id = :id",
                {"id": first}) == [["PAID", "PAID_OUT"]]
    _app_refused(m.refused("approve", first), Role.MANAGER, "approve")  # still, after

    # refund: M adds a second milestone, F funds it and cancels it with a full refund
    second = m.do("add_milestone", hired["contract_id"], "Batch 2", "300.00")
    f.do("fund", second)
    assert f.do("send") is True
    _app_refused(m.refused("refund", second, 30_000, "not needed"), Role.MANAGER, "refund")
    _sql_refused(m.refused("raw", "UPDATE milestones SET status = 'REFUNDING' WHERE id = "
                           ":id", {"id": second}), Capability.REFUND)
    _sql_refused(m.refused("raw", "UPDATE milestones SET amount_cents = 1 WHERE id = :id",
                           {"id": second}), Capability.FUND)
    # (a Manager reads the outbox's ids: deleting a milestone detaches its fundings)
    f.do("refund", second, 30_000, "Scope dropped")
    assert f.do("send") is True
    assert m.do("milestone", second)["status"] == "REFUNDED"

    _accountant_exports_and_is_refused(team, first, second, tmp_path)
    _viewer_is_refused_everything(team, job_id, hired, first, second)
    _check_the_books(team, gateway, m, f, first, second)
    for seat in (m, f):  # the passwords went over stdin and stay out of every log
        seat.close()
        assert seat.proc.returncode == 0, seat.log.read_text()[-3000:]
        assert team.members[seat.role].password not in seat.log.read_text()


def _accountant_exports_and_is_refused(team, first, second, tmp_path) -> None:  # noqa: F811
    engine = team.engine(Role.ACCOUNTANT)
    accountant = UnitOfWorkFactory(engine, actor=team.login(Role.ACCOUNTANT))
    path = tmp_path / "invoices.csv"
    rows = exports.export_invoices_csv(SqlReadSide(engine), InvoiceFilters(), path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Number,Issue date") and len(lines) == rows + 1
    numbers = sorted(line.split(",")[0] for line in lines[1:])
    assert [n.split("-")[0] for n in numbers] == ["CN", "EMP", "EMP", "PAY"], numbers
    save_company(accountant, CompanyDetails(name="Acme Agency", email="books@acme.test"))
    for attempt, verb in (
            (lambda: funding.queue_funding(accountant(), first, "test"), "fund"),
            (lambda: payouts.approve_milestone(accountant(), first), "approve"),
            (lambda: refunds.cancel_and_refund(accountant(), second, 1, "x"), "refund"),
            (lambda: services.edit_milestone(
                accountant(), first, MilestoneDraft("Batch 1", Money.parse("1.00"))), "")):
        with pytest.raises(RoleRefused, match=rf"Your role \(Accountant\) cannot {verb}"):
            attempt()
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM milestones")) == 2
        for sql in ("UPDATE milestones SET status = 'FUNDING' WHERE id = :second",
                    "INSERT INTO stripe_operations (id, kind) VALUES ('x', 'FUND_MILESTONE')",
                    "UPDATE milestones SET status = 'PAID' WHERE id = :first",
                    "UPDATE milestones SET status = 'REFUNDING' WHERE id = :second",
                    "UPDATE milestones SET amount_cents = 1 WHERE id = :first",
                    "SELECT stripe_object_id FROM stripe_operations",
                    "SELECT idempotency_key FROM stripe_operations",
                    "SELECT * FROM stripe_operations"):
            assert sqlstate(refused(conn, sql, {"first": first, "second": second})) \
                == "42501", sql
        blanked = conn.execute(sa.text("SELECT DISTINCT stripe_object_id FROM "
                                       "stripe_operations_read")).scalars().all()
        assert blanked == [""]


def _viewer_is_refused_everything(team, job_id, hired, first, second) -> None:  # noqa: F811
    engine = team.engine(Role.VIEWER)
    viewer = UnitOfWorkFactory(engine, actor=team.login(Role.VIEWER))
    draft = MilestoneDraft("Batch 3", Money.parse("5.00"))
    writes = {
        "create a job": lambda: services.create_job(viewer(), "Nope"),
        "edit a job": lambda: services.edit_job(viewer(), job_id, "Renamed"),
        "hire": lambda: services.hire_trainer(viewer(), job_id, "Bo", "bo@example.com", draft),
        "add a milestone": lambda: services.add_milestone(viewer(), hired["contract_id"],
                                                          draft),
        "edit a milestone": lambda: services.edit_milestone(viewer(), first, draft),
        "record a submission": lambda: services.record_submission(viewer(), first, "x"),
        "request changes": lambda: services.request_changes(viewer(), first, "x"),
        "fund": lambda: funding.queue_funding(viewer(), first, "test"),
        "approve": lambda: payouts.approve_milestone(viewer(), first),
        "refund": lambda: refunds.cancel_and_refund(viewer(), second, 1, "x"),
        "company details": lambda: save_company(viewer, CompanyDetails(name="Nope")),
        "archive": lambda: services.archive_job(viewer(), job_id),
    }
    for what, attempt in writes.items():
        with pytest.raises(RoleRefused, match=r"Your role \(Viewer\) cannot"):
            attempt()
            pytest.fail(f"a Viewer could {what}")
    with pytest.raises(RoleRefused, match=r"Your role \(Viewer\) cannot"):
        billing.add_test_card(viewer, None, "pm_card_visa")  # refused before Stripe
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            first_column = next(iter(table.columns)).name
            for sql in (f"INSERT INTO {table.name} DEFAULT VALUES",
                        f"UPDATE {table.name} SET {first_column} = {first_column}",
                        f"DELETE FROM {table.name}"):
                assert sqlstate(refused(conn, sql)) == "42501", sql
        assert sqlstate(refused(conn, APPROVE, {"id": first})) == "42501"


def _check_the_books(team, gateway, m, f, first, second) -> None:  # noqa: F811
    with team.admin.connect() as conn:
        invoices = conn.execute(sa.text(
            "SELECT series, seq, kind, number FROM invoices ORDER BY series, seq")).all()
        audit = conn.execute(sa.text(
            "SELECT actor, entity, entity_id, action FROM audit_log ORDER BY id")).all()
        ops = conn.execute(sa.text("SELECT kind, status, attempts, stripe_object_id "
                                   "FROM stripe_operations ORDER BY created_at")).all()
    by_series: dict[str, list[int]] = {}
    for series, seq, _kind, _number in invoices:
        by_series.setdefault(series, []).append(seq)
    assert {s.split("-")[0]: seqs for s, seqs in by_series.items()} == {
        "EMP": [1, 2], "PAY": [1], "CN": [1]}, invoices  # gapless, one each per event
    actions = {(actor, action) for actor, entity, entity_id, action in audit
               if entity == "milestone" and entity_id in (first, second)}
    assert actions == {(m.login, "created"), (m.login, "submitted"),
                       (m.login, "changes requested"), (f.login, "funding queued"),
                       (f.login, "funded"), (f.login, "approved"), (f.login, "paid out"),
                       (f.login, "cancel & refund"), (f.login, "refunded")}, actions
    assert {actor for actor, _e, _id, _a in audit} <= {m.login, f.login,
                                                       team.login(Role.ACCOUNTANT)}, audit
    by_actor = {actor for actor, _e, _id, _a in audit}
    assert by_actor == {m.login, f.login, team.login(Role.ACCOUNTANT)}
    [paid] = [row for row in SqlReadSide(team.engine(Role.VIEWER)).payment_history()
              if row.milestone_id == first]
    assert paid.approved_by == "Finance Person"
    assert [(k, s, a) for k, s, a, _o in ops] == [
        ("FUND_MILESTONE", "SUCCEEDED", 1), ("PAYOUT", "SUCCEEDED", 1),
        ("FUND_MILESTONE", "SUCCEEDED", 1), ("REFUND", "SUCCEEDED", 1)], ops
    intents = [i for i in gateway.v1.payment_intents.list({"limit": 100}).auto_paging_iter()]
    assert sorted(i.amount for i in intents) == [30_000, 125_000]
    charges = list(gateway.v1.charges.list({"limit": 100}).auto_paging_iter())
    assert sorted(c.amount for c in charges) == [30_000, 125_000]  # one per funding
    transfers = gateway.v1.transfers.list({"limit": 100}).data
    assert [t.amount for t in transfers] == [125_000]  # one per payout
    refunds_made = list(gateway.v1.refunds.list({"limit": 100}).auto_paging_iter())
    assert [r.amount for r in refunds_made] == [30_000]
