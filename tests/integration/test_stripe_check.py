"""Check against Stripe: differences between the books and the emulator's objects, the
actions (adopt, refund through the outbox) and ``--check-stripe``."""
from __future__ import annotations

import io

import pytest

from opentrain_desk import check_cli
from opentrain_desk.config import Settings
from opentrain_desk.domain.errors import DomainError
from opentrain_desk.domain.milestones import MilestoneStatus
from opentrain_desk.services import funding, payouts, stripe_check
from opentrain_desk.services.stripe_check import Problem, Remedy
from opentrain_desk.services.workspace_settings import customer_key, workspace_id
from tests.integration.test_exactly_once import funding_invoices
from tests.integration.test_funding import hire, intents, milestone, operations, with_card
from tests.integration.test_payouts import funded_and_submitted, ready_trainer, worker


def customer(factory) -> str:
    with factory() as uow:
        return uow.settings.get(customer_key("test"))


def plant_charge(gateway, factory, amount: int, metadata: dict | None = None) -> str:
    """A charge made directly at Stripe (the Dashboard, another program, a lost answer)."""
    cus = customer(factory)
    card = gateway.v1.customers.retrieve(cus)["invoice_settings"]["default_payment_method"]
    return gateway.v1.payment_intents.create({
        "amount": amount, "currency": "usd", "customer": cus, "payment_method": card,
        "off_session": True, "confirm": True, "metadata": metadata or {}}).id


def test_books_that_match_stripe_have_no_differences(factory, gateway, sandbox):
    paid, funded = funded_and_submitted(factory, gateway, n=2)
    ready_trainer(factory, gateway, sandbox, paid)
    payouts.approve_milestone(factory(), paid)
    worker(factory, gateway).run_once()
    assert milestone(factory, paid).payout_status.label == "Paid out"
    assert stripe_check.check(factory, gateway) == []


def test_a_charge_planted_at_stripe_is_found_and_refunded_once(factory, gateway, sandbox):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    planted = plant_charge(gateway, factory, 4_321)
    [diff] = stripe_check.check(factory, gateway)
    assert diff.problem is Problem.UNRECORDED_CHARGE and diff.stripe_id == planted
    assert diff.stripe_cents == 4_321 and diff.remedies == (Remedy.REFUND,)
    assert "Refund" in diff.what_to_do
    with pytest.raises(DomainError, match="Say why"):
        stripe_check.queue_refund(factory(), planted, 4_321, "  ")
    stripe_check.queue_refund(factory(), planted, 4_321, "Not ours")
    with pytest.raises(DomainError, match="already queued"):
        stripe_check.queue_refund(factory(), planted, 4_321, "twice")
    sandbox.inject_fault("/v1/refunds", method="POST", when="after", drop=True)
    w = worker(factory, gateway)
    w.run_once()
    from tests.integration.test_exactly_once import settle_time_passes
    settle_time_passes(factory)
    w.run_once()
    refunds = gateway.v1.refunds.list({"payment_intent": planted}).data
    assert len(refunds) == 1 and refunds[0].amount == 4_321
    assert stripe_check.check(factory, gateway) == []
    assert milestone(factory, m_id).status is MilestoneStatus.NOT_FUNDED


def test_a_lost_charge_for_a_not_funded_milestone_is_adopted_with_its_invoice(
        factory, gateway, sandbox):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    op_id = funding.queue_funding(factory(), m_id, "test")
    funding.cancel_funding(factory(), m_id)  # e.g. an older version cancelled it
    with factory() as uow:
        space = workspace_id(uow)
    amount = milestone(factory, m_id).amount_cents
    pi = plant_charge(gateway, factory, amount, {"workspace_id": space, "operation_id": op_id,
                                                  "milestone_id": str(m_id)})
    [diff] = stripe_check.check(factory, gateway)
    assert diff.problem is Problem.UNRECORDED_CHARGE and diff.milestone_id == m_id
    assert diff.remedies == (Remedy.ADOPT, Remedy.REFUND)
    assert stripe_check.adopt_charge(factory, gateway, pi) == m_id
    m = milestone(factory, m_id)
    assert m.status is MilestoneStatus.ACTIVE_FUNDED and m.payment_intent_id == pi
    assert len(funding_invoices(factory, m_id)) == 1
    assert stripe_check.check(factory, gateway) == []
    with pytest.raises(DomainError, match="already"):
        stripe_check.adopt_charge(factory, gateway, pi)
    assert len(funding_invoices(factory, m_id)) == 1


def test_a_duplicate_charge_can_only_be_refunded(factory, gateway):
    [m_id] = hire(factory)
    with_card(factory, gateway)
    funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    with factory() as uow:
        space = workspace_id(uow)
    amount = milestone(factory, m_id).amount_cents
    duplicate = plant_charge(gateway, factory, amount, {"workspace_id": space,
                                                        "milestone_id": str(m_id)})
    [diff] = stripe_check.check(factory, gateway)
    assert diff.stripe_id == duplicate and diff.remedies == (Remedy.REFUND,)
    with pytest.raises(DomainError, match="refund this charge instead"):
        stripe_check.adopt_charge(factory, gateway, duplicate)


def test_a_funded_milestone_without_its_charge_and_a_different_amount(factory, gateway):
    first, second = hire(factory, n=2)
    with_card(factory, gateway)
    for m_id in (first, second):
        funding.queue_funding(factory(), m_id, "test")
    worker(factory, gateway).run_once()
    with factory() as uow:  # the books were changed behind the app's back
        uow.milestones.get(first).payment_intent_id = "pi_missing"
        uow.milestones.get(second).amount_cents += 100
        uow.commit()
    found = {d.problem: d for d in stripe_check.check(factory, gateway)}
    assert set(found) == {Problem.MISSING_CHARGE, Problem.CHARGE_AMOUNT,
                          Problem.UNRECORDED_CHARGE}
    assert found[Problem.MISSING_CHARGE].milestone_id == first
    assert found[Problem.CHARGE_AMOUNT].books_cents - found[
        Problem.CHARGE_AMOUNT].stripe_cents == 100


def test_check_stripe_command_line_exit_codes(factory, gateway, sandbox, sqlite_url,
                                              tmp_path, memory_keyring):
    settings = Settings(home=tmp_path / "home", db_url=sqlite_url, actor="t",
                        sandbox=True)
    out = io.StringIO()
    assert check_cli.run(settings, sandbox_server=sandbox, out=out) == 0
    assert "No differences" in out.getvalue()
    [m_id] = hire(factory)
    with_card(factory, gateway)
    planted = plant_charge(gateway, factory, 999)
    out = io.StringIO()
    assert check_cli.run(settings, sandbox_server=sandbox, out=out) == 1
    text = out.getvalue()
    assert planted in text and "Charge at Stripe, not in the books" in text
    assert "$9.99" in text and "What to do" in text
    assert [op.status for op in operations(factory)] == []  # read-only
    assert len(intents(gateway, factory)) == 1
