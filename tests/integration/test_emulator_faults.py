"""The emulator fails and replays like Stripe: idempotency keys, faults before
and after execution, state on disk before the answer, refunds. Through the
official SDK, without retries, so each lost answer is seen as the app sees it."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

import opentrain_desk
from opentrain_desk.sandbox.emulator import SandboxStripe, store

ROOT = Path(opentrain_desk.__file__).resolve().parents[1]


def _client(base_url: str, timeout: float = 5.0,
            key: str = SandboxStripe.api_key) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": base_url}, max_network_retries=0,
                               http_client=stripe.RequestsClient(timeout=timeout))


@pytest.fixture
def client(sandbox: SandboxStripe) -> stripe.StripeClient:
    return _client(sandbox.base_url)


@pytest.fixture
def customer(client: stripe.StripeClient) -> str:
    """A customer with a default-able visa card; returns the customer id."""
    customer = client.v1.customers.create({"email": "agency@example.test"})
    client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    return customer.id


def _pi_params(client: stripe.StripeClient, customer: str, amount: int = 12_500,
               card: str | None = None) -> dict[str, Any]:
    if card is None:
        card = client.v1.payment_methods.list({"customer": customer, "type": "card"}).data[0].id
    return {"amount": amount, "currency": "eur", "customer": customer, "payment_method": card,
            "confirm": True, "off_session": True, "metadata": {"operation_id": "op-1"}}


def _pay(client: stripe.StripeClient, params: dict[str, Any], key: str) -> Any:
    return client.v1.payment_intents.create(params, {"idempotency_key": key})


def _intents(client: stripe.StripeClient, customer: str) -> list[str]:
    return [pi.id for pi in client.v1.payment_intents.list({"customer": customer}).data]


def _replayed(obj: Any) -> bool:
    return obj.last_response.headers.get("Idempotent-Replayed") == "true"


# --------------------------------------------------------------------------
# Idempotency keys
# --------------------------------------------------------------------------


def test_same_key_replays_the_first_payment_intent_without_executing_again(
        client: stripe.StripeClient, customer: str) -> None:
    params = _pi_params(client, customer)

    first = _pay(client, params, "fund-1")
    again = _pay(client, params, "fund-1")

    assert first.status == "succeeded" and again.id == first.id
    assert not _replayed(first) and _replayed(again)
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert _intents(client, customer) == [first.id]


def test_same_key_with_other_parameters_or_endpoint_is_refused(
        client: stripe.StripeClient, customer: str) -> None:
    params = _pi_params(client, customer)
    first = _pay(client, params, "fund-2")

    with pytest.raises(stripe.IdempotencyError) as other_amount:
        _pay(client, {**params, "amount": 99}, "fund-2")
    with pytest.raises(stripe.IdempotencyError) as other_endpoint:
        client.v1.customers.create({"email": "x@example.test"}, {"idempotency_key": "fund-2"})

    assert other_amount.value.http_status == 400
    assert other_amount.value.user_message == (
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with. Try using a key other than 'fund-2' if you meant to execute a "
        "different request.")
    assert other_endpoint.value.http_status == 400
    assert "same endpoint" in other_endpoint.value.user_message
    assert _intents(client, customer) == [first.id]


def test_same_key_while_the_first_request_runs_is_409_in_use(
        client: stripe.StripeClient, customer: str, sandbox: SandboxStripe) -> None:
    params = _pi_params(client, customer)
    sandbox.inject_fault("/v1/payment_intents", method="POST", delay=0.5)  # holds the key

    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(_pay, client, params, "fund-3")
        assert sandbox.wait_faults_consumed(5)
        with pytest.raises(stripe.APIError) as in_use:  # the SDK's class for a 409
            _pay(client, params, "fund-3")
        first = slow.result(5)

    assert in_use.value.http_status == 409
    assert (in_use.value.error.type, in_use.value.error.code) == (
        "idempotency_error", "idempotency_key_in_use")
    assert _pay(client, params, "fund-3").id == first.id
    assert _intents(client, customer) == [first.id]


def test_keys_are_scoped_by_api_key(sandbox: SandboxStripe, client: stripe.StripeClient,
                                    customer: str) -> None:
    other = _client(sandbox.base_url, key="sk_test_other_account_0123456789")

    mine = client.v1.customers.create({"email": "a@example.test"}, {"idempotency_key": "k"})
    theirs = other.v1.customers.create({"email": "b@example.test"}, {"idempotency_key": "k"})

    assert mine.id != theirs.id and not _replayed(theirs)


def test_a_decline_is_saved_and_replayed(client: stripe.StripeClient, customer: str) -> None:
    declining = client.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4000000000000341", "exp_month": 12,
                                  "exp_year": 2030, "cvc": "123"}})
    client.v1.payment_methods.attach(declining.id, {"customer": customer})
    params = _pi_params(client, customer, card=declining.id)

    with pytest.raises(stripe.StripeError) as first:
        _pay(client, params, "fund-declined")
    created = _intents(client, customer)
    with pytest.raises(stripe.StripeError) as again:
        _pay(client, params, "fund-declined")

    assert first.value.http_status == again.value.http_status == 402
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert again.value.json_body == first.value.json_body
    assert _intents(client, customer) == created  # not executed a second time


def test_invalid_parameters_are_not_saved_but_execution_errors_are(
        client: stripe.StripeClient, customer: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as invalid:
        client.v1.accounts.create({"type": "express", "colour": "red"}, {"idempotency_key": "a"})
    account = client.v1.accounts.create({"type": "express"}, {"idempotency_key": "a"})
    paid = _pay(client, _pi_params(client, customer, amount=1_000), "fund-e")
    over = {"payment_intent": paid.id, "amount": 1_001}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(over, {"idempotency_key": "refund-e"})
    with pytest.raises(stripe.InvalidRequestError) as replayed:
        client.v1.refunds.create(over, {"idempotency_key": "refund-e"})

    assert invalid.value.code == "parameter_unknown"
    assert account.id.startswith("acct_") and not _replayed(account)  # the key was free
    assert refused.value.code == replayed.value.code == "amount_too_large"
    assert replayed.value.headers["Idempotent-Replayed"] == "true"


def test_expired_keys_execute_again(client: stripe.StripeClient, customer: str,
                                    sandbox: SandboxStripe,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    params = _pi_params(client, customer)
    first = _pay(client, params, "fund-old")

    now = time.time()
    monkeypatch.setattr(sandbox.idempotency, "clock", lambda: now + 24 * 3600 + 1)
    after_a_day = _pay(client, params, "fund-old")
    monkeypatch.undo()
    assert sandbox.expire_idempotency_keys() == 1
    after_expiry = _pay(client, params, "fund-old")
    expired = requests.post(sandbox.base_url + "/_sandbox/idempotency_keys/expire", timeout=5)
    over_http = _pay(client, params, "fund-old")

    assert expired.json() == {"expired": 1}
    assert len({first.id, after_a_day.id, after_expiry.id, over_http.id}) == 4
    assert len(_intents(client, customer)) == 4


# --------------------------------------------------------------------------
# Faults before execution
# --------------------------------------------------------------------------


def test_a_500_before_execution_frees_the_key_and_the_retry_executes_once(
        client: stripe.StripeClient, customer: str, sandbox: SandboxStripe) -> None:
    params = _pi_params(client, customer)
    sandbox.inject_fault("/v1/payment_intents", method="POST", status=500)

    with pytest.raises(stripe.APIError) as failed:
        _pay(client, params, "fund-4")
    assert failed.value.http_status == 500
    assert _intents(client, customer) == []

    retried = _pay(client, params, "fund-4")
    assert not _replayed(retried)
    assert _pay(client, params, "fund-4").id == retried.id
    assert _intents(client, customer) == [retried.id]


def test_a_drop_before_execution_changes_nothing(
        client: stripe.StripeClient, customer: str, sandbox: SandboxStripe) -> None:
    params = _pi_params(client, customer)
    sandbox.inject_fault("/v1/payment_intents", method="POST", drop=True)

    with pytest.raises(stripe.APIConnectionError):
        _pay(client, params, "fund-5")

    assert _intents(client, customer) == []
    assert not _replayed(_pay(client, params, "fund-5"))


# --------------------------------------------------------------------------
# Faults after execution
# --------------------------------------------------------------------------


def test_a_dropped_answer_after_execution_leaves_the_payment_made(
        client: stripe.StripeClient, customer: str, sandbox: SandboxStripe,
        caplog: pytest.LogCaptureFixture) -> None:
    params = _pi_params(client, customer)
    sandbox.inject_fault("/v1/payment_intents", method="POST", when="after", drop=True)

    with caplog.at_level(logging.DEBUG, logger="aiohttp"), \
            pytest.raises(stripe.APIConnectionError):
        _pay(client, params, "fund-6")

    [made] = client.v1.payment_intents.list({"customer": customer}).data
    assert made.status == "succeeded" and made.metadata["operation_id"] == "op-1"
    sandbox.inject_fault("/v1/payment_intents", method="POST", when="after", drop=True)
    with pytest.raises(stripe.APIConnectionError):
        _pay(client, params, "fund-6")  # a replay can be lost too
    retried = _pay(client, params, "fund-6")
    assert retried.id == made.id and _replayed(retried)
    assert _intents(client, customer) == [made.id]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("sticky", [False, True])
def test_a_500_after_execution_replays_the_success_unless_sticky(
        client: stripe.StripeClient, customer: str, sandbox: SandboxStripe,
        sticky: bool) -> None:
    params = _pi_params(client, customer)
    sandbox.inject_fault("/v1/payment_intents", method="POST", when="after", status=500,
                         sticky=sticky)

    with pytest.raises(stripe.APIError) as failed:
        _pay(client, params, "fund-7")
    assert failed.value.http_status == 500
    [made] = _intents(client, customer)  # executed although the answer was a 500

    if sticky:
        with pytest.raises(stripe.APIError) as replayed:
            _pay(client, params, "fund-7")
        assert replayed.value.http_status == 500
        assert replayed.value.headers["Idempotent-Replayed"] == "true"
        assert replayed.value.json_body == failed.value.json_body
    else:
        retried = _pay(client, params, "fund-7")
        assert retried.id == made and retried.status == "succeeded" and _replayed(retried)
    assert _intents(client, customer) == [made]


def test_a_slow_answer_times_out_while_the_payment_exists(
        client: stripe.StripeClient, customer: str, sandbox: SandboxStripe) -> None:
    params = _pi_params(client, customer)
    impatient = _client(sandbox.base_url, timeout=0.5)
    sandbox.inject_fault("/v1/payment_intents", method="POST", when="after", delay=1.5)

    started = time.monotonic()
    with pytest.raises(stripe.APIConnectionError):
        _pay(impatient, params, "fund-8")
    assert time.monotonic() - started < 1.4

    [made] = _intents(client, customer)  # listed while its answer is still held back
    assert _pay(impatient, params, "fund-8").id == made
    assert _intents(client, customer) == [made]


def test_fault_rules_over_http_take_when_drop_and_sticky(sandbox: SandboxStripe) -> None:
    url = sandbox.base_url + "/_sandbox/faults"

    ok = requests.post(url, json={"path_prefix": "/v1/refunds", "when": "after", "status": 502,
                                  "sticky": True}, timeout=5)
    bad = [requests.post(url, json=body, timeout=5).status_code for body in (
        {"path_prefix": "/v1/x", "when": "later", "status": 500},
        {"path_prefix": "/v1/x", "status": 500, "sticky": True},  # sticky needs when=after
        {"path_prefix": "/v1/x", "status": 500, "drop": True},
        {"path_prefix": "/v1/x"},
    )]

    assert ok.status_code == 200 and bad == [400, 400, 400, 400]
    [rule] = ok.json()["data"]
    assert (rule["when"], rule["status"], rule["sticky"], rule["drop"]) == ("after", 502, True,
                                                                            False)


# --------------------------------------------------------------------------
# State on disk before the answer
# --------------------------------------------------------------------------


class _EmulatorProcess:
    """``python -m opentrain_desk.sandbox.emulator --state FILE`` in its own process."""

    def __init__(self, state: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opentrain_desk.sandbox.emulator", "--state", str(state)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "ready", "emulator did not start"
        self.base_url = line[1]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(10)


@pytest.fixture
def emulator_processes(tmp_path: Path) -> Iterator[list[_EmulatorProcess]]:
    started: list[_EmulatorProcess] = []
    yield started
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(10)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_emulator_restarts_with_what_it_answered(
        tmp_path: Path, emulator_processes: list[_EmulatorProcess]) -> None:
    state = tmp_path / "stripe.state"
    emulator_processes.append(first := _EmulatorProcess(state))
    client = _client(first.base_url)
    customer = client.v1.customers.create({"email": "kept@example.test"})
    client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    params = _pi_params(client, customer.id)
    made = _pay(client, params, "fund-kill")
    first.kill()  # right after the answer: no orderly shutdown

    emulator_processes.append(second := _EmulatorProcess(state))
    client = _client(second.base_url)

    assert client.v1.payment_intents.retrieve(made.id).status == "succeeded"
    retried = _pay(client, params, "fund-kill")  # the key survived the crash too
    assert retried.id == made.id and _replayed(retried)
    assert _intents(client, customer.id) == [made.id]
    second.close()
    assert second.proc.returncode == 0


def test_saved_state_restores_objects_and_keys(
        client: stripe.StripeClient, customer: str, sandbox: SandboxStripe,
        tmp_path: Path) -> None:
    params = _pi_params(client, customer)
    made = _pay(client, params, "fund-s")
    saved, old_format = tmp_path / "stripe.state", tmp_path / "old.state"
    sandbox.save_state(saved)
    old_format.write_bytes(pickle.dumps(sandbox._call(lambda: dict(store))))  # objects only

    sandbox.stop()
    sandbox.reset()
    assert SandboxStripe.load_state(saved)
    sandbox.start()
    assert _replayed(again := _pay(client, params, "fund-s")) and again.id == made.id

    sandbox.stop()
    sandbox.reset()
    assert SandboxStripe.load_state(old_format)
    sandbox.start()
    assert client.v1.payment_intents.retrieve(made.id).status == "succeeded"
    assert not _replayed(_pay(client, params, "fund-s"))  # no keys in the old format


# --------------------------------------------------------------------------
# Refunds
# --------------------------------------------------------------------------


def test_partial_refunds_are_listed_newest_first_and_capped(
        client: stripe.StripeClient, customer: str) -> None:
    paid = _pay(client, _pi_params(client, customer, amount=10_000), "fund-r")

    first = client.v1.refunds.create(
        {"payment_intent": paid.id, "amount": 3_000, "metadata": {"operation_id": "rf-1"}},
        {"idempotency_key": "refund-1"})
    replay = client.v1.refunds.create(
        {"payment_intent": paid.id, "amount": 3_000, "metadata": {"operation_id": "rf-1"}},
        {"idempotency_key": "refund-1"})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"payment_intent": paid.id, "amount": 7_001})
    rest = client.v1.refunds.create({"payment_intent": paid.id})  # what is left: 7,000
    with pytest.raises(stripe.InvalidRequestError) as already:
        client.v1.refunds.create({"payment_intent": paid.id, "amount": 1})

    assert (first.amount, first.payment_intent, first.status) == (3_000, paid.id, "succeeded")
    assert first.metadata["operation_id"] == "rf-1" and replay.id == first.id
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    assert rest.amount == 7_000
    assert already.value.code == "charge_already_refunded"
    listed = client.v1.refunds.list({"payment_intent": paid.id})
    assert [r.id for r in listed.data] == [rest.id, first.id] and not listed.has_more
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (10_000, True)


def test_refund_and_charge_lists_filter_by_payment_intent(
        client: stripe.StripeClient, customer: str) -> None:
    params = _pi_params(client, customer, amount=2_000)
    one, two = _pay(client, params, "fund-a"), _pay(client, params, "fund-b")
    refund = client.v1.refunds.create({"charge": two.latest_charge, "amount": 500})

    charges = client.v1.charges.list({"payment_intent": one.id}).data
    assert [c.id for c in charges] == [one.latest_charge]
    everything = client.v1.charges.list({"customer": customer}).data
    assert [c.id for c in everything] == [two.latest_charge, one.latest_charge]
    assert client.v1.refunds.list({"payment_intent": one.id}).data == []
    assert refund.payment_intent == two.id
    assert [r.id for r in client.v1.refunds.list({"payment_intent": two.id}).data] == [refund.id]
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.refunds.create({"payment_intent": "pi_missing"})
    assert (unknown.value.code, unknown.value.param) == ("resource_missing", "payment_intent")
