"""The sandbox demo workspace: every state backed by real emulator objects."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from opentrain_desk.workspace import Workspace
from opentrain_desk.config import Settings
from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
from opentrain_desk.payments.outbox import OutboxWorker
from opentrain_desk.persistence.orm import milestones
from opentrain_desk.persistence.queries import Queries
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from opentrain_desk.ui.views.contract_view import _describe
from tests.integration.money_checks import assert_money_equals_stripe
from tests.ui.test_models_and_app import assert_history_in_number_order


def rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(milestones.c.id, milestones.c.title, milestones.c.status,
                                      milestones.c.payout_status,
                                      milestones.c.payment_intent_id,
                                      milestones.c.amount_cents)).all()


def test_sandbox_demo_shows_every_state_with_real_stripe_objects(tmp_path, sandbox, gateway):
    workspace = Workspace(Settings(home=tmp_path / "home", demo=True, sandbox=True,
                                   actor="tester"), sandbox_server=sandbox)
    try:
        engine = workspace.engine
        seeded = rows(engine)
        assert {r.status for r in seeded} == set(MilestoneStatus)
        assert {r.payout_status for r in seeded} == set(PayoutStatus)
        assert_history_in_number_order(engine)
        funded = [r for r in seeded if r.status in (MilestoneStatus.ACTIVE_FUNDED,
                                                     MilestoneStatus.PENDING_APPROVAL,
                                                     MilestoneStatus.PAID)]
        for row in funded:  # a real, succeeded PaymentIntent behind every funded milestone
            assert gateway.retrieve_payment(row.payment_intent_id).status == "succeeded"
        transfers = gateway.v1.transfers.list({"limit": 100}).data
        paid_out = [r for r in seeded if r.payout_status is PayoutStatus.PAID_OUT]
        reversed_ = [r for r in seeded if r.payout_status is PayoutStatus.REVERSED]
        assert len(transfers) == len(paid_out) + len(reversed_)
        assert [t.amount_reversed for t in transfers if t.amount_reversed] == [
            r.amount_cents for r in reversed_]
        assert_money_equals_stripe(engine, gateway)
        disputed = [Queries(engine).milestone(r.id) for r in seeded]
        [open_dispute] = [row for row in disputed if row.disputed]
        assert [r.status_qualifier for r in disputed].count("bank debit processing") == 1
        assert open_dispute.status_label == "Disputed"
        assert open_dispute.status_qualifier == "evidence due in 6 days"
        assert gateway.list_disputes()[0].payment_intent_id == next(
            r.payment_intent_id for r in seeded if r.id == open_dispute.id)

        # The payout that met a 503 is retried by the payment worker and paid out, once.
        retrying = next(r for r in seeded if r.payout_status is PayoutStatus.PENDING_RETRY)
        later = workspace.uow.clock() + timedelta(minutes=10)
        worker = OutboxWorker(UnitOfWorkFactory(engine, "tester", clock=lambda: later),
                              lambda: gateway, lease=timedelta(0))
        worker.run_once()
        worker.run_once()
        after = {r.title: r.payout_status for r in rows(engine)}
        assert after[retrying.title] is PayoutStatus.PAID_OUT
        assert PayoutStatus.FAILED in after.values()               # refused: stays failed
        failed = next(r for r in rows(engine) if r.payout_status is PayoutStatus.FAILED)
        detail = _describe(Queries(engine).milestone(failed.id))  # the timeline's detail line
        assert "Payout failed (Sandbox fault injection: simulated HTTP 400)" in detail
        assert PayoutStatus.PENDING_SETUP in after.values()        # waits for the trainer
        transfers = gateway.v1.transfers.list({"limit": 100}).data
        assert len(transfers) == len(paid_out) + len(reversed_) + 1
        # the refund that met a 503 went out too: Refunding -> Refunded, with a credit note
        assert MilestoneStatus.REFUNDING not in {r.status for r in rows(engine)}
        assert_money_equals_stripe(engine, gateway)
    finally:
        workspace.close()
