"""SIGKILL between Stripe's answer and recording it: restart, reconcile, charge once."""
from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from opentrain_desk.domain.milestones import MilestoneStatus
from opentrain_desk.domain.operations import OperationStatus
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.services import funding
from tests.integration.test_funding import hire, intents, milestone, operations, with_card

SCRIPT = Path(__file__).with_name("crash_worker.py")


def test_killed_worker_is_reconciled_to_exactly_one_payment_per_milestone(
        factory, gateway, sandbox, sqlite_url):
    ids = hire(factory, n=12)
    with_card(factory, gateway)
    for m_id in ids:
        funding.queue_funding(factory(), m_id, "test")
    for _run in range(2):  # each run dies right after its first answer from Stripe
        proc = subprocess.run([sys.executable, str(SCRIPT), sqlite_url, sandbox.base_url,
                               sandbox.api_key], capture_output=True, timeout=60,
                              cwd=Path(__file__).parents[2])
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        orphans = [op for op in operations(factory) if op.status == OperationStatus.SENDING]
        assert orphans  # requests left, outcomes never recorded
    charged_before = len(intents(gateway, factory))
    assert 1 <= charged_before < len(ids)
    OutboxWorker(factory, lambda: gateway, lease=timedelta(0)).run_once()
    assert [milestone(factory, i).status for i in ids] == [MilestoneStatus.ACTIVE_FUNDED] * 12
    pis = intents(gateway, factory)
    assert len(pis) == 12 and all(pi.status == "succeeded" for pi in pis)
    assert sorted(pi.metadata["milestone_id"] for pi in pis) == sorted(map(str, ids))
    assert all(op.status == OperationStatus.SUCCEEDED for op in operations(factory))
    with factory() as uow:  # the recorded references are the ones Stripe has
        recorded = {uow.milestones.get(i).payment_intent_id for i in ids}
    assert recorded == {pi.id for pi in pis}
