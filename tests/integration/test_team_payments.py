"""Stripe in a team: only seats with the key and the role send, they say so in a
heartbeat, and two seats' workers in two processes never send one operation twice."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from opentrain_desk.domain.milestones import MilestoneStatus
from opentrain_desk.domain.roles import Role
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.persistence import database
from opentrain_desk.persistence.orm import milestones, stripe_operations
from opentrain_desk.services import funding, payment_sender
from opentrain_desk.services.payment_sender import NOBODY_TEXT, Sender, status_text
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from opentrain_desk.services.workspace_settings import PAYMENTS_SENDER
from tests.integration.test_funding import hire, intents, with_card

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = {"dana": ("Dana Finance", Role.FINANCE), "olga": ("Olga Owner", Role.OWNER),
           "max": ("Max Manager", Role.MANAGER)}


@pytest.fixture
def team(postgres_url):
    engine = database.create_engine(postgres_url)
    database.migrate(engine)
    factories = {login: UnitOfWorkFactory(engine, login) for login in MEMBERS}
    with factories["olga"]() as uow:
        for login, (name, role) in MEMBERS.items():
            uow.members.add(login, name, role.value, uow.now)
        uow.commit()
    yield factories
    engine.dispose()


def test_status_words_for_a_team_seat():
    now = datetime.now(timezone.utc)
    dana = Sender("dana", "Dana Finance", now, fresh=True)
    assert status_text(dana, "max", 2) == "Payments sent by Dana Finance's seat · 2 queued"
    assert status_text(dana, "max", 0) == "Payments sent by Dana Finance's seat"
    assert status_text(dana, "dana", 2) is None  # this seat: the worker's own state
    stale = Sender("dana", "Dana Finance", now - timedelta(hours=1), fresh=False)
    assert status_text(stale, "max", 1) == NOBODY_TEXT + " · 1 queued"
    assert status_text(None, "max", 0) == NOBODY_TEXT


def test_only_a_seat_whose_role_may_send_runs_the_worker_and_says_so(team, gateway):
    [m_id] = hire(team["max"])
    with_card(team["olga"], gateway)
    funding.queue_funding(team["olga"](), m_id, "test")  # queued by the Owner …
    manager = OutboxWorker(team["max"], lambda: gateway, lease=timedelta(0),
                           may_send=lambda: payment_sender.may_send(team["max"]),
                           after_pass=payment_sender.Heartbeat(team["max"]))
    manager.run_once()  # … a Manager's seat does not send
    assert manager.state.sending is False
    assert payment_sender.current(team["max"]) is None
    assert intents(gateway, team["max"]) == []
    finance = OutboxWorker(team["dana"], lambda: gateway, lease=timedelta(0),
                           may_send=lambda: payment_sender.may_send(team["dana"]),
                           after_pass=payment_sender.Heartbeat(team["dana"]))
    finance.run_once()
    assert finance.state.sending is True
    assert len(intents(gateway, team["max"])) == 1
    sender = payment_sender.current(team["max"])
    assert (sender.login, sender.name, sender.fresh) == ("dana", "Dana Finance", True)
    with team["max"]() as uow:  # the seat closed an hour ago: nobody is sending
        uow.settings.set(PAYMENTS_SENDER, json.dumps(
            {"login": "dana", "name": "Dana Finance",
             "at": (uow.now - timedelta(hours=1)).isoformat()}))
        uow.commit()
    assert payment_sender.current(team["max"]).fresh is False


def test_two_seat_processes_never_send_one_operation_twice(team, sandbox, tmp_path,
                                                          postgres_url):
    """Dana (Finance) and Olga (Owner) each run the app's payment worker in their own
    process, on one workspace and one emulator, 4 senders each, on 24 queued fundings."""
    from opentrain_desk.payments.stripe_gateway import StripeGateway
    gateway = StripeGateway(sandbox.api_key, base_url=sandbox.base_url, timeout=5, mode="test")
    ids = hire(team["max"], n=24, amount="10.00")
    with_card(team["olga"], gateway)
    for m_id in ids:
        funding.queue_funding(team["olga"](), m_id, "test")
    stop = tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen(
        [sys.executable, str(ROOT / "tests/integration/team_seat_worker.py"), postgres_url,
         sandbox.base_url, sandbox.api_key, login, str(tmp_path / login), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for login in ("dana", "olga")]
    engine = team["max"].engine
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                funded = conn.scalar(sa.select(sa.func.count()).where(
                    milestones.c.status == MilestoneStatus.ACTIVE_FUNDED.name))
            if funded == len(ids):
                break
            time.sleep(0.2)
        stop.touch()
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        stop.touch()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert funded == len(ids), [err[-2000:] for _out, err in outputs]
    sent = [int(out.split("sent ")[-1]) for out, _err in outputs]
    assert sum(sent) == len(ids), sent  # every claim sent once, by one of the two
    per_operation: dict[str, int] = {}
    for intent in intents(gateway, team["max"]):
        op_id = intent["metadata"]["operation_id"]
        per_operation[op_id] = per_operation.get(op_id, 0) + 1
    with engine.connect() as conn:
        ops = conn.execute(sa.select(stripe_operations.c.id,
                                     stripe_operations.c.attempts)).all()
    assert len(ops) == len(ids) and all(attempts == 1 for _id, attempts in ops)
    assert per_operation == {op_id: 1 for op_id, _attempts in ops}
    print(f"operations sent per seat process: dana {sent[0]}, olga {sent[1]}")
