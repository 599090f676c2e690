"""Stripe key handling at the service level: verify, store only in the keyring, modes."""
from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from opentrain_desk.domain.milestones import MilestoneDraft
from opentrain_desk.domain.money import Money
from opentrain_desk.payments.connection import KeyRefused, StripeConnection
from opentrain_desk.secrets import KeyringSecretStore, KeyringUnavailable
from opentrain_desk.services import billing, funding
from opentrain_desk.services import jobs as services

GOOD = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"


def connection(factory, sandbox):
    conn = StripeConnection(factory, KeyringSecretStore(), api_base=sandbox.base_url)
    conn.load()
    return conn


def all_text(factory) -> str:
    with factory.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT key || value FROM workspace_settings UNION ALL "
            "SELECT coalesce(before,'') || coalesce(after,'') FROM audit_log").scalars()
        return "\n".join(rows)


def test_valid_key_is_verified_and_kept_only_in_the_keyring(factory, sandbox, memory_keyring):
    conn = connection(factory, sandbox)
    assert conn.gateway() is None
    info = conn.save_key(f"  {GOOD}  ")
    assert info.mode == "test" and conn.mode == "test"
    assert list(memory_keyring.entries.values()) == [GOOD]
    assert GOOD not in all_text(factory)
    assert conn.key_hint() == "sk_test_…p7dc"
    # a restart finds the key in the keyring again
    again = connection(factory, sandbox)
    assert again.mode == "test" and again.gateway() is not None
    again.remove_key()
    assert memory_keyring.entries == {} and again.gateway() is None


@pytest.mark.parametrize("bad", ["", "pk_test_123456789012345678", "sk_test_short",
                                 "hello world", "sk_prod_12345678901234567890"])
def test_malformed_keys_are_refused_before_any_call(factory, sandbox, memory_keyring, bad):
    with pytest.raises(KeyRefused, match="not a Stripe secret key"):
        connection(factory, sandbox).save_key(bad)
    assert memory_keyring.entries == {}


def test_revoked_key_is_refused_with_stripes_reason(factory, sandbox, memory_keyring):
    sandbox.revoke_key(GOOD)
    with pytest.raises(KeyRefused, match="did not accept") as refused:
        connection(factory, sandbox).save_key(GOOD)
    assert GOOD not in str(refused.value)
    assert memory_keyring.entries == {}


def test_key_revoked_after_saving_pauses_payments_without_losing_them(
        factory, sandbox, memory_keyring):
    from datetime import timedelta

    from opentrain_desk.payments.outbox import OutboxWorker
    conn = connection(factory, sandbox)
    conn.save_key(GOOD)
    billing.add_test_card(factory, conn.gateway(), "pm_card_visa")
    job = services.create_job(factory(), "J")
    hired = services.hire_trainer(factory(), job, "A", "a@example.com",
                                  MilestoneDraft("M", Money(5000)), fund_mode="test")
    sandbox.revoke_key(GOOD)
    worker = OutboxWorker(factory, conn.gateway, lease=timedelta(0))
    worker.run_once()
    assert worker.state.key_rejected and GOOD not in worker.state.last_error
    with factory() as uow:
        op = uow.operations.open_for_milestone(hired.milestone_id, funding.OperationKind
                                               .FUND_MILESTONE)
        assert op is not None and op.status.name == "QUEUED"


def test_wrong_mode_key_refused_while_payments_of_the_other_mode_are_open(
        factory, sandbox, memory_keyring):
    conn = connection(factory, sandbox)
    conn.save_key(GOOD)
    billing.add_test_card(factory, conn.gateway(), "pm_card_visa")
    job = services.create_job(factory(), "J")
    services.hire_trainer(factory(), job, "A", "a@example.com",
                          MilestoneDraft("M", Money(5000)), fund_mode="test")
    with pytest.raises(KeyRefused, match="still open in test mode"):
        conn.save_key("sk_live_51Habcdefghijklmnopqrstuv")
    assert list(memory_keyring.entries.values()) == [GOOD]


def test_live_key_is_checked_against_stripe(factory, sandbox, memory_keyring):
    # no open test payments: the mode check passes, Stripe (the emulator) says no
    with pytest.raises(KeyRefused, match="did not accept"):
        connection(factory, sandbox).save_key("sk_live_51Habcdefghijklmnopqrstuv")


def test_no_usable_keyring_is_explained_and_nothing_is_stored(factory, sandbox):
    keyring.set_keyring(fail.Keyring())
    conn = connection(factory, sandbox)
    assert "No secure OS keyring" in conn.keyring_problem
    with pytest.raises(KeyringUnavailable, match="never stores keys in plain files"):
        conn.save_key(GOOD)
    assert conn.gateway() is None
    assert GOOD not in all_text(factory)
