"""The embedded Stripe emulator, exercised through the official stripe SDK."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import requests
import stripe

from opentrain_desk.sandbox.emulator import SandboxStripe

PICKLE_PATH = "/tmp/localstripe.pickle"


def _pickle_state() -> int | None:
    """mtime of localstripe's shared pickle, or None when absent."""
    try:
        return os.stat(PICKLE_PATH).st_mtime_ns
    except FileNotFoundError:
        return None


PICKLE_BEFORE_MODULE = _pickle_state()


# ``sandbox`` (tests/conftest.py): the session's one emulator, reset for each test.


@pytest.fixture(autouse=True)
def _fresh_state(sandbox: SandboxStripe) -> None:
    if not sandbox.running:  # a failed stop/start test must not break the rest
        sandbox.start()
    sandbox.reset()


@pytest.fixture
def client(sandbox: SandboxStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        SandboxStripe.api_key,
        base_addresses={"api": sandbox.base_url},
        http_client=stripe.RequestsClient(timeout=5),
    )


def _sandbox_post(sandbox: SandboxStripe, path: str, **json: Any) -> requests.Response:
    response = requests.post(sandbox.base_url + path, json=json, timeout=5)
    response.raise_for_status()
    return response


def _paid_charge(client: stripe.StripeClient, amount: int,
                 currency: str = "eur") -> tuple[str, str]:
    """(customer id, charge id) of a succeeded off-session payment."""
    customer = client.v1.customers.create({"email": "agency@example.test"})
    card = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    intent = client.v1.payment_intents.create({
        "amount": amount, "currency": currency, "customer": customer.id,
        "payment_method": card.id, "confirm": True, "off_session": True,
    })
    assert intent.status == "succeeded"
    return customer.id, intent.latest_charge


def _ready_account(client: stripe.StripeClient, sandbox: SandboxStripe) -> str:
    account = client.v1.accounts.create({"type": "express", "email": "trainer@example.test"})
    _sandbox_post(sandbox, f"/_sandbox/accounts/{account.id}/complete_onboarding")
    return account.id


def test_off_session_payment_intent_succeeds_with_a_readable_charge(
        client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "agency@example.test"})
    card = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})

    intent = client.v1.payment_intents.create({
        "amount": 12_500, "currency": "eur", "customer": customer.id,
        "payment_method": card.id, "confirm": True, "off_session": True,
        "metadata": {"operation_id": "op-1"},
    })

    assert intent.status == "succeeded"
    assert isinstance(intent.latest_charge, str) and intent.latest_charge.startswith("ch_")
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount, charge.status, charge.payment_intent) == (12_500, "succeeded", intent.id)
    expanded = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]})
    assert expanded.latest_charge.id == charge.id


def test_payment_intents_list_by_customer_is_newest_first_and_paginates(
        client: stripe.StripeClient) -> None:
    mine = client.v1.customers.create({"email": "a@example.test"})
    other = client.v1.customers.create({"email": "b@example.test"})
    created = [client.v1.payment_intents.create(
        {"amount": 100 * (i + 1), "currency": "eur", "customer": mine.id}).id for i in range(3)]
    client.v1.payment_intents.create({"amount": 999, "currency": "eur", "customer": other.id})

    first = client.v1.payment_intents.list({"customer": mine.id, "limit": 2})
    second = client.v1.payment_intents.list(
        {"customer": mine.id, "limit": 2, "starting_after": first.data[-1].id})

    assert [pi.id for pi in first.data] == created[::-1][:2] and first.has_more
    assert [pi.id for pi in second.data] == created[:1] and not second.has_more
    every = client.v1.payment_intents.list({"customer": mine.id, "limit": 1}).auto_paging_iter()
    assert [pi.id for pi in every] == created[::-1]


def test_new_account_is_not_ready_and_metadata_updates_merge(
        client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create({
        "type": "express", "email": "trainer@example.test", "metadata": {"trainer_id": "7"},
        "capabilities": {"transfers": {"requested": True}},
    })

    assert account.id.startswith("acct_")
    assert (account.payouts_enabled, account.charges_enabled, account.details_submitted) == (
        False, False, False)
    assert account.capabilities["transfers"] == "inactive"
    assert account.requirements["currently_due"] and account.requirements["disabled_reason"]
    updated = client.v1.accounts.update(account.id, {"metadata": {"note": "x"}})
    assert updated.metadata.to_dict() == {"trainer_id": "7", "note": "x"}
    assert [a.id for a in client.v1.accounts.list().data] == [account.id]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.accounts.retrieve("acct_unknown")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


def test_account_link_leads_to_the_sandbox_onboarding_page(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    account = client.v1.accounts.create({"type": "express"})

    link = client.v1.account_links.create({
        "account": account.id, "type": "account_onboarding",
        "refresh_url": "https://example.test/refresh", "return_url": "https://example.test/done",
    })

    assert link.object == "account_link" and link.expires_at > link.created
    assert link.url == f"{sandbox.base_url}/_sandbox/onboarding/{account.id}"
    page = requests.get(link.url, timeout=5)
    assert page.status_code == 200 and account.id in page.text and "sandbox" in page.text
    assert requests.post(link.url, timeout=5).status_code == 200
    assert client.v1.accounts.retrieve(account.id).payouts_enabled is True


def test_transfer_to_an_account_not_onboarded_is_refused(client: stripe.StripeClient) -> None:
    _, charge_id = _paid_charge(client, 5_000)
    account = client.v1.accounts.create({"type": "express"})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.transfers.create({"amount": 1_000, "currency": "eur",
                                    "destination": account.id, "source_transaction": charge_id})

    assert refused.value.http_status == 400
    assert refused.value.code == "insufficient_capabilities_for_transfer"
    assert client.v1.transfers.list().data == []


def test_transfer_with_source_transaction_after_onboarding(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    _, charge_id = _paid_charge(client, 5_000)
    account_id = _ready_account(client, sandbox)
    account = client.v1.accounts.retrieve(account_id)
    assert account.payouts_enabled and account.capabilities["transfers"] == "active"
    assert account.requirements["currently_due"] == []
    assert account.requirements["disabled_reason"] is None

    transfer = client.v1.transfers.create({
        "amount": 4_000, "currency": "eur", "destination": account_id,
        "source_transaction": charge_id, "transfer_group": "milestone-1",
        "metadata": {"operation_id": "pay-1"},
    })

    assert transfer.id.startswith("tr_")
    fetched = client.v1.transfers.retrieve(transfer.id)
    assert (fetched.amount, fetched.destination, fetched.source_transaction) == (
        4_000, account_id, charge_id)
    assert fetched.metadata["operation_id"] == "pay-1"


def test_transfers_list_filters_by_transfer_group_and_destination(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    _, charge_id = _paid_charge(client, 10_000)
    alice, bob = _ready_account(client, sandbox), _ready_account(client, sandbox)

    def pay(destination: str, group: str) -> str:
        return client.v1.transfers.create({
            "amount": 1_000, "currency": "eur", "destination": destination,
            "source_transaction": charge_id, "transfer_group": group}).id

    first, _, third = pay(alice, "m-1"), pay(bob, "m-2"), pay(bob, "m-1")

    group = client.v1.transfers.list({"transfer_group": "m-1"})
    assert [t.id for t in group.data] == [third, first] and not group.has_more
    to_bob = client.v1.transfers.list({"destination": bob, "transfer_group": "m-1"})
    assert [t.id for t in to_bob.data] == [third]
    page = client.v1.transfers.list({"limit": 2})
    assert len(page.data) == 2 and page.has_more


def test_transfers_beyond_the_charge_or_the_balance_are_insufficient(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    _, charge_id = _paid_charge(client, 5_000)
    account_id = _ready_account(client, sandbox)
    base = {"currency": "eur", "destination": account_id}

    client.v1.transfers.create({**base, "amount": 3_000, "source_transaction": charge_id})
    with pytest.raises(stripe.InvalidRequestError) as over_charge:
        client.v1.transfers.create({**base, "amount": 2_001, "source_transaction": charge_id})
    client.v1.transfers.create({**base, "amount": 2_000})  # exactly the remaining balance
    with pytest.raises(stripe.InvalidRequestError) as over_balance:
        client.v1.transfers.create({**base, "amount": 1})

    assert over_charge.value.code == "balance_insufficient"
    assert over_balance.value.code == "balance_insufficient"
    assert client.v1.balance.retrieve().available[0].amount == 0


def test_unknown_destination_or_source_transaction_is_resource_missing(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    _paid_charge(client, 5_000)
    account_id = _ready_account(client, sandbox)

    with pytest.raises(stripe.InvalidRequestError) as no_destination:
        client.v1.transfers.create({"amount": 100, "currency": "eur", "destination": "acct_nope"})
    with pytest.raises(stripe.InvalidRequestError) as no_charge:
        client.v1.transfers.create({"amount": 100, "currency": "eur", "destination": account_id,
                                    "source_transaction": "ch_nope"})

    assert (no_destination.value.code, no_destination.value.param) == (
        "resource_missing", "destination")
    assert (no_charge.value.code, no_charge.value.param) == ("resource_missing",
                                                             "source_transaction")


def test_injected_500_fails_one_call_then_the_next_succeeds(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    _sandbox_post(sandbox, "/_sandbox/faults", path_prefix="/v1/customers", status=500, count=1)

    with pytest.raises(stripe.APIError) as failed:
        client.v1.customers.create({"email": "a@example.test"})

    assert type(failed.value) is stripe.APIError and failed.value.http_status == 500
    assert client.v1.customers.list().data == []  # the failed call changed nothing
    assert client.v1.customers.create({"email": "a@example.test"}).id.startswith("cus_")


def test_injected_429_carries_its_code_and_faults_can_be_cleared(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    _sandbox_post(sandbox, "/_sandbox/faults", path_prefix="/v1/payment_intents",
                  status=429, code="lock_timeout", count=5)

    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.payment_intents.list()
    assert limited.value.error.code == "lock_timeout"
    assert client.v1.customers.list().data == []  # other paths are untouched

    requests.delete(sandbox.base_url + "/_sandbox/faults", timeout=5).raise_for_status()
    assert client.v1.payment_intents.list().data == []


def test_injected_delay_slows_the_call_down(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    sandbox.inject_fault("/v1/customers", delay=0.3)

    started = time.monotonic()
    client.v1.customers.create({"email": "slow@example.test"})
    slow = time.monotonic() - started
    started = time.monotonic()
    client.v1.customers.list()
    fast = time.monotonic() - started

    assert slow >= 0.3 > fast


def test_stop_refuses_connections_and_restart_keeps_port_and_state(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    customer = client.v1.customers.create({"email": "kept@example.test"})
    port = sandbox.port

    sandbox.stop()
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.retrieve(customer.id)
    sandbox.start()

    assert sandbox.port == port
    assert client.v1.customers.retrieve(customer.id).email == "kept@example.test"


def test_only_one_sandbox_runs_per_process(sandbox: SandboxStripe) -> None:
    with pytest.raises(RuntimeError, match="another SandboxStripe"):
        SandboxStripe().start()
    assert sandbox.running


def test_reset_clears_localstripe_and_extension_state(
        client: stripe.StripeClient, sandbox: SandboxStripe) -> None:
    _, charge_id = _paid_charge(client, 5_000)
    account_id = _ready_account(client, sandbox)
    client.v1.transfers.create({"amount": 100, "currency": "eur", "destination": account_id,
                                "source_transaction": charge_id})
    sandbox.inject_fault("/v1/balance", status=500, count=3)

    sandbox.reset()

    assert client.v1.customers.list().data == []
    assert client.v1.payment_intents.list().data == []
    assert client.v1.accounts.list().data == []
    assert client.v1.transfers.list().data == []
    assert requests.get(sandbox.base_url + "/_sandbox/faults", timeout=5).json()["data"] == []
    assert client.v1.balance.retrieve().available[0].amount == 0


def test_api_calls_require_a_secret_key_but_sandbox_routes_do_not(sandbox: SandboxStripe) -> None:
    assert requests.get(sandbox.base_url + "/v1/accounts", timeout=5).status_code == 401
    assert requests.get(sandbox.base_url + "/_sandbox/faults", timeout=5).status_code == 200


def test_the_run_never_writes_localstripe_pickle(client: stripe.StripeClient) -> None:
    _paid_charge(client, 1_000)
    client.v1.accounts.create({"type": "express"})

    assert _pickle_state() == PICKLE_BEFORE_MODULE


def test_revoked_and_live_keys_get_401(client: stripe.StripeClient,
                                       sandbox: SandboxStripe) -> None:
    revoked = "sk_test_revoked_0123456789abcdef"
    ok = stripe.StripeClient(revoked, base_addresses={"api": sandbox.base_url})
    ok.v1.customers.list()
    sandbox.revoke_key(revoked)
    with pytest.raises(stripe.AuthenticationError) as error:
        ok.v1.customers.list()
    assert revoked not in str(error.value)  # the key is masked in the message
    live = stripe.StripeClient("sk_live_0123456789abcdefghij",
                               base_addresses={"api": sandbox.base_url})
    with pytest.raises(stripe.AuthenticationError):
        live.v1.customers.list()
    sandbox.reset()
    ok.v1.customers.list()  # reset forgets revocations


def test_authentication_required_test_card_needs_3ds_off_session(
        client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "3ds@example.test"})
    card = client.v1.payment_methods.attach("pm_card_authenticationRequired",
                                            {"customer": customer.id})
    intent = client.v1.payment_intents.create({
        "amount": 1000, "currency": "usd", "customer": customer.id,
        "payment_method": card.id, "off_session": True, "confirm": True})
    assert intent.status == "requires_action"
