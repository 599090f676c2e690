"""One seat of a scripted team session, as its own process (tests/integration/
test_team_session.py drives it).

It opens the workspace the way the app does: ``Workspace`` on the shared PostgreSQL
database signed in as the member's own login (the password arrives on stdin, never on the
command line), its own Stripe gateway on the shared emulator, the payment worker the
composition root gives it. Then it answers one JSON command per stdin line with one JSON
line on stdout: ``{"ok": result}`` or ``{"error": class name, "message", "sqlstate",
"capability"}``. ``raw`` runs SQL on the seat's own engine (its own login).

Usage: team_session_seat.py DB_URL EMULATOR_URL EMULATOR_KEY LOGIN HOME
"""
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from opentrain_desk.config import Settings
from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.persistence.team_security import refused_capability
from opentrain_desk.services import billing, funding, payouts, refunds, team
from opentrain_desk.services import jobs as services
from opentrain_desk.workspace import Workspace


class Seat:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.uow = workspace.uow
        self.worker = workspace.payment_worker(lambda _state: None)
        self.worker.lease = timedelta(0)

    def gateway(self):
        return self.ws.stripe.gateway()

    # -- the app's services, as this seat's member ---------------------------------------
    def whoami(self):
        member = team.whoami(self.uow)
        with self.ws.engine.connect() as conn:
            login = conn.scalar(sa.text("SELECT current_user"))
        return {"name": member.name, "role": member.role.label, "db_login": login}

    def create_job(self, title):
        return services.create_job(self.uow(), title)

    def hire(self, job_id, name, email, title, amount):
        return asdict(services.hire_trainer(self.uow(), job_id, name, email,
                                            MilestoneDraft(title, Money.parse(amount))))

    def add_milestone(self, contract_id, title, amount):
        return services.add_milestone(self.uow(), contract_id,
                                      MilestoneDraft(title, Money.parse(amount)))

    def add_card(self):
        return billing.add_test_card(self.uow, self.gateway(), "pm_card_visa") is not None

    def fund(self, milestone_id):
        return funding.queue_funding(self.uow(), milestone_id, "test")

    def send(self):
        """One pass of this seat's payment worker; whether it sent (its role and key)."""
        self.worker.run_once()
        return self.worker.state.sending

    def submit(self, milestone_id, note):
        services.record_submission(self.uow(), milestone_id, note)

    def request_changes(self, milestone_id, note):
        services.request_changes(self.uow(), milestone_id, note)

    def approve(self, milestone_id):
        return payouts.approve_milestone(self.uow(), milestone_id)

    def refund(self, milestone_id, amount_cents, reason):
        return refunds.cancel_and_refund(self.uow(), milestone_id, amount_cents, reason)

    def ensure_account(self, trainer_id):
        return payouts.ensure_account(self.uow, self.gateway(), trainer_id)

    def refresh_account(self, trainer_id):
        payouts.refresh_account(self.uow, self.gateway(), trainer_id)

    def milestone(self, milestone_id):
        row = self.ws.read.milestone(milestone_id)
        return {"status": row.status.name, "version": getattr(row, "version", None)}

    # -- raw SQL as this seat's own login -----------------------------------------------
    def raw(self, sql, params=None):
        with self.ws.engine.begin() as conn:
            result = conn.execute(sa.text(sql), params or {})
            return [list(map(str, row)) for row in result] if result.returns_rows else []


def answer(seat: Seat, command: dict) -> dict:
    try:
        result = getattr(seat, command["op"])(*command.get("args", []))
    except Exception as error:  # noqa: BLE001 - every refusal goes back to the test
        orig = getattr(error, "orig", None)
        capability = refused_capability(error) if orig is not None else None
        return {"error": type(error).__name__, "message": str(error),
                "sqlstate": getattr(orig, "sqlstate", None),
                "capability": capability.name if capability else None}
    return {"ok": asdict(result) if is_dataclass(result) else result}


def main(db_url: str, base_url: str, api_key: str, login: str, home: str) -> None:
    password = json.loads(sys.stdin.readline())["password"]
    url = sa.engine.make_url(db_url).set(username=login, password=password)
    settings = Settings(home=Path(home), db_url=url.render_as_string(hide_password=False),
                        actor=login, sandbox=True)
    emulator = SimpleNamespace(base_url=base_url, api_key=api_key)  # shared, not ours
    workspace = Workspace(settings, sandbox_server=emulator)
    seat = Seat(workspace)
    print(json.dumps({"ok": "ready"}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "quit":
                break
            print(json.dumps(answer(seat, command), default=str), flush=True)
    finally:
        workspace.close()


if __name__ == "__main__":
    main(*sys.argv[1:6])
