"""The emulator's event list, disputes, transfer reversals and US bank debits,
through the official SDK (what the app reads instead of webhooks)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from opentrain_desk.sandbox.emulator import SandboxStripe, store


@pytest.fixture
def client(sandbox: SandboxStripe) -> stripe.StripeClient:
    return stripe.StripeClient(SandboxStripe.api_key, base_addresses={"api": sandbox.base_url},
                               max_network_retries=0,
                               http_client=stripe.RequestsClient(timeout=5))


def _sandbox_post(sandbox: SandboxStripe, path: str, **json: Any) -> dict[str, Any]:
    response = requests.post(sandbox.base_url + path, json=json, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def _customer(client: stripe.StripeClient) -> str:
    return client.v1.customers.create({"email": "agency@example.test"}).id


def _paid(client: stripe.StripeClient, amount: int, currency: str = "usd",
          customer: str | None = None) -> Any:
    customer = customer or _customer(client)
    card = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer})
    intent = client.v1.payment_intents.create({
        "amount": amount, "currency": currency, "customer": customer,
        "payment_method": card.id, "confirm": True, "off_session": True})
    assert intent.status == "succeeded"
    return intent


def _types(client: stripe.StripeClient, **params: Any) -> list[str]:
    return [e.type for e in client.v1.events.list({"limit": 100, **params}).data]


def _ready_account(client: stripe.StripeClient, sandbox: SandboxStripe) -> str:
    account = client.v1.accounts.create({"type": "express"})
    _sandbox_post(sandbox, f"/_sandbox/accounts/{account.id}/complete_onboarding")
    return account.id


# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------


def test_events_are_newest_first_with_stripe_cursors(client: stripe.StripeClient) -> None:
    intent = _paid(client, 1_000)

    everything = client.v1.events.list({"limit": 100}).data
    first = client.v1.events.list({"limit": 2})
    second = client.v1.events.list({"limit": 2, "starting_after": first.data[-1].id})
    before = client.v1.events.list({"limit": 2, "ending_before": second.data[0].id})
    walked = [e.id for e in client.v1.events.list({"limit": 1}).auto_paging_iter()]

    ids = [e.id for e in everything]
    assert ids == walked and len(ids) == len(set(ids)) >= 4
    assert [e.id for e in first.data] == ids[:2] and first.has_more
    assert [e.id for e in second.data] == ids[2:4]
    assert [e.id for e in before.data] == ids[:2]
    created = [e.created for e in everything]
    assert created == sorted(created, reverse=True)
    types = [e.type for e in everything]
    # newest first: the payment intent's success comes after its charge's
    assert types.index("payment_intent.succeeded") < types.index("charge.succeeded") \
        < types.index("payment_intent.created") < types.index("customer.created")
    succeeded = client.v1.events.list({"type": "payment_intent.succeeded"}).data[0]
    assert succeeded.id.startswith("evt_") and succeeded.object == "event"
    assert (succeeded.livemode, succeeded.pending_webhooks) == (False, 0)
    assert succeeded.api_version and succeeded.request.id.startswith("req_")
    assert succeeded.data.object.id == intent.id
    assert succeeded.data.object.latest_charge == intent.latest_charge  # an id, as the API
    assert client.v1.events.retrieve(succeeded.id).type == "payment_intent.succeeded"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.events.retrieve("evt_missing")
    assert missing.value.http_status == 404


def test_event_request_names_the_api_call_and_its_idempotency_key(
        client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "a@example.test"},
                                          {"idempotency_key": "cust-1"})

    [event] = client.v1.events.list({"type": "customer.created"}).data

    assert event.request.idempotency_key == "cust-1"
    assert event.request.id == customer.last_response.request_id


def test_type_wildcard_types_and_created_filters(client: stripe.StripeClient,
                                                 sandbox: SandboxStripe) -> None:
    intent = _paid(client, 5_000)
    _sandbox_post(sandbox, "/_sandbox/disputes", payment_intent=intent.id)

    assert _types(client, type="charge.dispute.*") == [
        "charge.dispute.funds_withdrawn", "charge.dispute.created"]
    assert set(_types(client, types=["charge.succeeded", "charge.dispute.created"])) == {
        "charge.succeeded", "charge.dispute.created"}
    assert _types(client, type="charge.succeeded") == ["charge.succeeded"]
    now = int(time.time())
    assert _types(client, created={"gt": now + 1}) == []
    assert len(_types(client, created={"gte": now - 60, "lte": now + 1})) == len(_types(client))
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list({"type": "charge.succeeded", "types": ["charge.failed"]})


def test_events_of_one_second_keep_their_order(client: stripe.StripeClient,
                                               sandbox: SandboxStripe) -> None:
    made = [client.v1.customers.create({"email": f"{i}@example.test"}).id for i in range(5)]
    sandbox._call(lambda: [setattr(e, "created", 1_700_000_000)
                           for k, e in store.items() if k.startswith("event:")])

    listed = [e.data.object.id for e in client.v1.events.list({"type": "customer.created"}).data]
    paged = [e.data.object.id for e in client.v1.events.list(
        {"type": "customer.created", "limit": 2}).auto_paging_iter()]

    assert listed == paged == made[::-1]


def test_refund_events_snapshot_the_charge_at_each_refund(client: stripe.StripeClient) -> None:
    intent = _paid(client, 10_000)

    first = client.v1.refunds.create({"payment_intent": intent.id, "amount": 3_000})
    second = client.v1.refunds.create({"payment_intent": intent.id, "amount": 7_000})

    refunded = client.v1.events.list({"type": "charge.refunded"}).data
    assert [(e.data.object.amount_refunded, e.data.object.refunded) for e in refunded] == [
        (10_000, True), (3_000, False)]
    created = client.v1.events.list({"type": "refund.created"}).data
    assert [e.data.object.id for e in created] == [second.id, first.id]
    assert created[0].data.object.payment_intent == intent.id


def test_a_refund_failing_later_emits_refund_updated_and_gives_the_money_back(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    intent = _paid(client, 4_000)
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    assert client.v1.balance.retrieve().available[0].amount == 0

    failed = _sandbox_post(sandbox, f"/_sandbox/refunds/{refund.id}/fail",
                           failure_reason="lost_or_stolen_card")

    assert (failed["status"], failed["failure_reason"]) == ("failed", "lost_or_stolen_card")
    [updated] = client.v1.events.list({"type": "refund.updated"}).data
    assert (updated.data.object.id, updated.data.object.status) == (refund.id, "failed")
    assert _types(client, type="charge.refund.updated") == ["charge.refund.updated"]
    assert client.v1.refunds.retrieve(refund.id).status == "failed"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    assert client.v1.balance.retrieve().available[0].amount == 4_000
    again = requests.post(f"{sandbox.base_url}/_sandbox/refunds/{refund.id}/fail", timeout=5)
    assert again.status_code == 400


def test_events_survive_save_and_load_and_reset_clears_them(
        client: stripe.StripeClient, sandbox: SandboxStripe, tmp_path: Path) -> None:
    intent = _paid(client, 1_000)
    dispute = sandbox.open_dispute(payment_intent=intent.id)
    before = [e.id for e in client.v1.events.list({"limit": 100}).data]
    saved = tmp_path / "stripe.state"
    sandbox.save_state(saved)

    sandbox.stop()
    sandbox.reset()
    assert SandboxStripe.load_state(saved)
    sandbox.start()
    assert [e.id for e in client.v1.events.list({"limit": 100}).data] == before
    assert client.v1.disputes.retrieve(dispute["id"]).status == "needs_response"
    client.v1.customers.create({"email": "later@example.test"})
    assert client.v1.events.list({"limit": 1}).data[0].type == "customer.created"  # newest

    sandbox.reset()
    assert client.v1.events.list().data == []


def test_expiry_drops_old_events_but_not_the_objects(client: stripe.StripeClient,
                                                     sandbox: SandboxStripe) -> None:
    intent = _paid(client, 1_000)
    old = client.v1.events.list({"limit": 100}).data
    sandbox._call(lambda: [setattr(store[f"event:{e.id}"], "created", e.created - 31 * 86400)
                           for e in old])
    fresh = client.v1.customers.create({"email": "fresh@example.test"})

    dropped = _sandbox_post(sandbox, "/_sandbox/events/expire", older_than=30 * 86400)

    assert dropped == {"expired": len(old)}
    [left] = client.v1.events.list().data
    assert left.data.object.id == fresh.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve(old[0].id)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert _sandbox_post(sandbox, "/_sandbox/events/expire") == {"expired": 1}
    assert client.v1.events.list().data == []


# --------------------------------------------------------------------------
# Disputes
# --------------------------------------------------------------------------


def test_dispute_lifecycle_stage_submit_and_win(client: stripe.StripeClient,
                                               sandbox: SandboxStripe) -> None:
    intent = _paid(client, 8_000)
    opened = _sandbox_post(sandbox, "/_sandbox/disputes", payment_intent=intent.id,
                           reason="product_not_received")
    dispute_id = opened["id"]
    assert client.v1.balance.retrieve().available[0].amount == 0  # funds withdrawn

    dispute = client.v1.disputes.retrieve(dispute_id)
    assert dispute.id.startswith("dp_") and dispute.object == "dispute"
    assert (dispute.amount, dispute.currency, dispute.status, dispute.reason) == (
        8_000, "usd", "needs_response", "product_not_received")
    assert (dispute.charge, dispute.payment_intent) == (intent.latest_charge, intent.id)
    assert dispute.evidence_details.due_by > time.time() + 6 * 86400
    assert not dispute.evidence_details.past_due and dispute.evidence.product_description is None
    assert client.v1.charges.retrieve(intent.latest_charge).disputed is True
    with pytest.raises(stripe.InvalidRequestError) as refund:
        client.v1.refunds.create({"payment_intent": intent.id})
    assert refund.value.code == "charge_disputed"

    staged = client.v1.disputes.update(dispute_id, {
        "evidence": {"product_description": "Trainer session", "service_date": "2026-11-30"},
        "metadata": {"operation_id": "dsp-1"}, "submit": False})
    assert staged.status == "needs_response" and staged.evidence.service_date == "2026-11-30"
    assert staged.evidence_details.has_evidence and staged.evidence_details.submission_count == 0
    submitted = client.v1.disputes.update(dispute_id, {
        "evidence": {"uncategorized_text": "Attended"}, "submit": True})
    assert submitted.status == "under_review" and submitted.evidence_details.submission_count == 1
    assert submitted.evidence.product_description == "Trainer session"  # staged kept
    assert submitted.metadata["operation_id"] == "dsp-1"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute_id, {"evidence": {"uncategorized_text": "More"}})

    _sandbox_post(sandbox, f"/_sandbox/disputes/{dispute_id}/resolve", outcome="won")

    assert client.v1.disputes.retrieve(dispute_id).status == "won"
    assert _types(client, type="charge.dispute.*") == [
        "charge.dispute.funds_reinstated", "charge.dispute.closed", "charge.dispute.updated",
        "charge.dispute.updated", "charge.dispute.funds_withdrawn", "charge.dispute.created"]
    [closed] = client.v1.events.list({"type": "charge.dispute.closed"}).data
    assert closed.data.object.status == "won" and closed.request.id is None  # Stripe did it
    assert client.v1.balance.retrieve().available[0].amount == 8_000
    assert len(client.v1.disputes.retrieve(dispute_id).balance_transactions) == 2
    [created] = client.v1.events.list({"type": "charge.dispute.created"}).data
    assert len(created.data.object.balance_transactions) == 1  # a snapshot, not the live object
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute_id, {"evidence": {"uncategorized_text": "late"}})
    listed = client.v1.disputes.list({"payment_intent": intent.id}).data
    assert [d.id for d in listed] == [dispute_id]
    assert client.v1.disputes.list({"charge": "ch_other"}).data == []


def test_evidence_after_due_by_is_refused_and_close_means_lost(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    late = _sandbox_post(sandbox, "/_sandbox/disputes",
                         charge=_paid(client, 2_000).latest_charge, due_in=-60)
    accepted = _sandbox_post(sandbox, "/_sandbox/disputes",
                             charge=_paid(client, 3_000).latest_charge, amount=1_000)

    with pytest.raises(stripe.InvalidRequestError) as past_due:
        client.v1.disputes.update(late["id"], {"evidence": {"uncategorized_text": "x"},
                                               "submit": True})
    assert past_due.value.http_status == 400 and past_due.value.param == "evidence"
    assert client.v1.disputes.retrieve(late["id"]).evidence_details.past_due is True

    closed = client.v1.disputes.close(accepted["id"])
    assert (closed.status, closed.amount) == ("lost", 1_000)
    [event] = client.v1.events.list({"type": "charge.dispute.closed"}).data
    assert event.data.object.id == accepted["id"] and event.data.object.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(accepted["id"])
    _sandbox_post(sandbox, f"/_sandbox/disputes/{late['id']}/resolve", outcome="lost")
    assert client.v1.events.list({"type": "charge.dispute.funds_reinstated"}).data == []
    assert client.v1.balance.retrieve().available[0].amount == 5_000 - 2_000 - 1_000


# --------------------------------------------------------------------------
# Transfer reversals
# --------------------------------------------------------------------------


def test_partial_then_full_reversal_and_over_reversal_refused(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    charge = _paid(client, 10_000).latest_charge
    account = _ready_account(client, sandbox)
    transfer = client.v1.transfers.create({"amount": 6_000, "currency": "usd",
                                           "destination": account, "source_transaction": charge})
    assert client.v1.balance.retrieve().available[0].amount == 4_000

    part = client.v1.transfers.reversals.create(transfer.id, {"amount": 2_000,
                                                              "metadata": {"op": "r1"}})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.transfers.reversals.create(transfer.id, {"amount": 4_001})
    rest = client.v1.transfers.reversals.create(transfer.id)
    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        client.v1.transfers.reversals.create(transfer.id, {"amount": 1})

    assert part.id.startswith("trr_") and part.object == "transfer_reversal"
    assert (part.amount, part.transfer, part.metadata["op"]) == (2_000, transfer.id, "r1")
    assert rest.amount == 4_000
    assert too_much.value.code == nothing_left.value.code == "amount_too_large"
    fetched = client.v1.transfers.retrieve(transfer.id)
    assert (fetched.amount_reversed, fetched.reversed) == (6_000, True)
    assert [r.id for r in fetched.reversals.data] == [rest.id, part.id]
    listed = client.v1.transfers.reversals.list(transfer.id)
    assert [r.id for r in listed.data] == [rest.id, part.id]
    assert client.v1.transfers.reversals.retrieve(transfer.id, part.id).amount == 2_000
    assert client.v1.balance.retrieve().available[0].amount == 10_000
    reversed_events = client.v1.events.list({"type": "transfer.reversed"}).data
    assert [(e.data.object.amount_reversed, e.data.object.reversed)
            for e in reversed_events] == [(6_000, True), (2_000, False)]
    # what a reversal gave back can be transferred again
    client.v1.transfers.create({"amount": 6_000, "currency": "usd", "destination": account,
                                "source_transaction": charge})


# --------------------------------------------------------------------------
# US bank account debits
# --------------------------------------------------------------------------


def _bank_account(client: stripe.StripeClient, customer: str, account_number: str) -> str:
    pm = client.v1.payment_methods.create({
        "type": "us_bank_account",
        "us_bank_account": {"routing_number": "110000000", "account_number": account_number,
                            "account_holder_type": "company"},
        "billing_details": {"name": "Agency Ltd"}})
    client.v1.payment_methods.attach(pm.id, {"customer": customer})
    return pm.id


def _debit(client: stripe.StripeClient, customer: str, pm: str, amount: int = 25_000) -> Any:
    return client.v1.payment_intents.create({
        "amount": amount, "currency": "usd", "customer": customer, "payment_method": pm,
        "payment_method_types": ["us_bank_account"], "confirm": True, "off_session": True,
        "mandate_data": {"customer_acceptance": {"type": "offline"}}})


def test_bank_debit_processes_then_settles(client: stripe.StripeClient,
                                           sandbox: SandboxStripe) -> None:
    customer = _customer(client)
    pm_id = _bank_account(client, customer, "000123456789")
    pm = client.v1.payment_methods.retrieve(pm_id)
    assert pm.type == "us_bank_account" and pm.customer == customer
    assert (pm.us_bank_account.bank_name, pm.us_bank_account.last4,
            pm.us_bank_account.routing_number, pm.us_bank_account.account_holder_type) == (
        "STRIPE TEST BANK", "6789", "110000000", "company")
    listed = client.v1.payment_methods.list({"customer": customer, "type": "us_bank_account"})
    assert [p.id for p in listed.data] == [pm_id]

    intent = _debit(client, customer, pm_id)

    assert intent.status == "processing" and intent.payment_method_types == ["us_bank_account"]
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.status == "pending" and charge.payment_method_details.type == "us_bank_account"
    assert _types(client, type="payment_intent.*") == [
        "payment_intent.processing", "payment_intent.created"]
    assert client.v1.balance.retrieve().available[0].amount == 0

    settled = _sandbox_post(sandbox, f"/_sandbox/payment_intents/{intent.id}/settle")

    assert settled["status"] == "succeeded"
    assert client.v1.charges.retrieve(intent.latest_charge).status == "succeeded"
    assert _types(client, types=["charge.succeeded", "payment_intent.succeeded"]) == [
        "payment_intent.succeeded", "charge.succeeded"]
    assert client.v1.balance.retrieve().available[0].amount == 25_000
    again = requests.post(f"{sandbox.base_url}/_sandbox/payment_intents/{intent.id}/settle",
                          timeout=5)
    assert again.status_code == 400


def test_bank_debit_failing_later_and_settle_all(client: stripe.StripeClient,
                                                 sandbox: SandboxStripe) -> None:
    customer = _customer(client)
    closed = _debit(client, customer, _bank_account(client, customer, "000111111113"))
    missing = _debit(client, customer, _bank_account(client, customer, "000111111116"))
    good = _debit(client, customer, "pm_usBankAccount", amount=1_000)
    forced = _debit(client, customer, "pm_usBankAccount_failsLater", amount=500)
    _sandbox_post(sandbox, f"/_sandbox/payment_intents/{forced.id}/settle", outcome="succeeded")

    result = _sandbox_post(sandbox, "/_sandbox/payment_intents/settle_all")

    assert {pi["id"] for pi in result["data"]} == {closed.id, missing.id, good.id}
    failed = client.v1.payment_intents.retrieve(closed.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "account_closed"
    assert client.v1.payment_intents.retrieve(missing.id).last_payment_error.code == "no_account"
    charge = client.v1.charges.retrieve(closed.latest_charge)
    assert (charge.status, charge.failure_code) == ("failed", "account_closed")
    assert client.v1.payment_intents.retrieve(good.id).status == "succeeded"
    assert client.v1.payment_intents.retrieve(forced.id).status == "succeeded"
    failures = client.v1.events.list({"type": "payment_intent.payment_failed"}).data
    assert {e.data.object.id for e in failures} == {closed.id, missing.id}
    assert len(client.v1.events.list({"type": "charge.failed"}).data) == 2
    assert _sandbox_post(sandbox, "/_sandbox/payment_intents/settle_all")["data"] == []
    assert client.v1.balance.retrieve().available[0].amount == 1_500


# --------------------------------------------------------------------------
# Idempotency on the new routes
# --------------------------------------------------------------------------


def _replayed(obj: Any) -> bool:
    return obj.last_response.headers.get("Idempotent-Replayed") == "true"


def test_new_post_routes_replay_with_the_same_idempotency_key(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    charge = _paid(client, 5_000).latest_charge
    transfer = client.v1.transfers.create({"amount": 3_000, "currency": "usd",
                                           "destination": _ready_account(client, sandbox)})
    dispute = _sandbox_post(sandbox, "/_sandbox/disputes", charge=charge)
    key = {"idempotency_key": "rev-1"}

    first = client.v1.transfers.reversals.create(transfer.id, {"amount": 1_000}, key)
    again = client.v1.transfers.reversals.create(transfer.id, {"amount": 1_000}, key)
    staged = client.v1.disputes.update(dispute["id"], {"evidence": {"uncategorized_text": "a"},
                                                       "submit": False}, {"idempotency_key": "d"})
    staged_again = client.v1.disputes.update(
        dispute["id"], {"evidence": {"uncategorized_text": "a"}, "submit": False},
        {"idempotency_key": "d"})
    sandbox.inject_fault("/v1/transfers", method="POST", when="after", drop=True)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.reversals.create(transfer.id, {"amount": 500},
                                             {"idempotency_key": "r2"})
    retried = client.v1.transfers.reversals.create(transfer.id, {"amount": 500},
                                                   {"idempotency_key": "r2"})

    assert again.id == first.id and _replayed(again) and not _replayed(first)
    assert _replayed(staged_again) and staged_again.id == staged.id
    assert _replayed(retried)
    assert len(client.v1.transfers.reversals.list(transfer.id).data) == 2
    assert client.v1.transfers.retrieve(transfer.id).amount_reversed == 1_500
    assert len(client.v1.events.list({"type": "transfer.reversed"}).data) == 2
    assert len(client.v1.events.list({"type": "charge.dispute.updated"}).data) == 1


def test_bank_debit_confirmed_separately_and_python_shortcuts(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    customer = _customer(client)
    pm = _bank_account(client, customer, "000111111116")
    intent = client.v1.payment_intents.create({
        "amount": 7_000, "currency": "usd", "customer": customer, "payment_method": pm,
        "payment_method_types": ["us_bank_account"]})
    assert intent.status == "requires_confirmation"

    confirmed = client.v1.payment_intents.confirm(intent.id, {
        "off_session": True, "mandate_data": {"customer_acceptance": {"type": "offline"}}})

    assert confirmed.status == "processing"
    assert sandbox.settle_all_payment_intents() == [intent.id]
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert (failed.status, failed.last_payment_error.code) == ("requires_payment_method",
                                                               "no_account")
    paid = _paid(client, 3_000, customer=customer)
    refund = client.v1.refunds.create({"payment_intent": paid.id, "amount": 1_000})
    assert sandbox.fail_refund(refund.id)["status"] == "failed"
    dispute = sandbox.open_dispute(paid.latest_charge, reason="general")
    assert (dispute["amount"], dispute["reason"]) == (3_000, "general")
    assert sandbox.resolve_dispute(dispute["id"], "lost")["status"] == "lost"
    assert _types(client, type="charge.dispute.closed") == ["charge.dispute.closed"]
    count = len(_types(client))
    assert sandbox.expire_events() == count > 0
    assert client.v1.events.list().data == []
