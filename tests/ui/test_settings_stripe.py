"""Settings → Stripe key, Billing and Company through the real widgets and the emulator."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import (QApplication, QDialog, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton, QRadioButton, QTableView, QWidget)

from opentrain_desk.app import setup_logging
from opentrain_desk.app import close_window as _close_window
from opentrain_desk.services.workspace_settings import STRIPE_KEY_HINT as KEY_HINT
from opentrain_desk.services.workspace_settings import customer_key, default_card_key
from opentrain_desk.ui.views.settings.cards_model import CardColumn, CardsModel
from tests.conftest import at_head
from tests.ui.conftest import (click, confirm_box, find, open_window, select_row, styled,
                               submit, table_column, type_into, wait_closed, wait_dialog)

TEST_KEY = "sk_test_" + "Zq7Lm2Xc9Vb4Nn8Kp3Rt6Wy1"
LIVE_KEY = "sk_live_" + "Hd5Fg8Jk2Ls4Mq6Np9Rv3Tx7"


# -- helpers ---------------------------------------------------------------------------
@pytest.fixture
def keyed_settings(settings, sandbox):
    """Not the sandbox: keys are real-looking and verified against the emulator."""
    return replace(settings, stripe_api_base=sandbox.base_url)


@pytest.fixture
def keyed_window(qtbot, qapp, keyed_settings, _head_workspace):
    styled(qapp)
    at_head(keyed_settings.db_url, _head_workspace)
    win = open_window(qtbot, keyed_settings)
    show_settings(qtbot, win)
    yield win
    close(win)


@pytest.fixture
def sandbox_window(qtbot, qapp, settings, sandbox, _head_workspace):
    styled(qapp)
    at_head(settings.db_url, _head_workspace)
    win = open_window(qtbot, replace(settings, sandbox=True), sandbox_server=sandbox)
    show_settings(qtbot, win)
    yield win
    close(win)


def close(window) -> None:
    """Stop the sync worker, let the GUI handle what it already reported, then close.

    A key change makes the worker report state changes; each queues a count on the
    database thread. Closing while one is still queued cancels it, and TaskRunner then
    raises CancelledError in the event loop, so drain first."""
    window.ctx.sync.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        QApplication.processEvents()  # not qtbot.wait: no deferred deletes at teardown
        if not (window.ctx.db.pending or window.ctx.net.pending):
            break
        time.sleep(0.005)
    _close_window(window)


def settled(qtbot, window) -> None:
    """No database or Stripe work in flight (the page's callbacks have run)."""
    qtbot.waitUntil(lambda: window.ctx.db.pending == 0 and window.ctx.net.pending == 0,
                    timeout=10000)


def show_settings(qtbot, window) -> None:
    find(window, QWidget, "settingsPage")  # the page exists under its contract name
    window.show_area("actionSettings")
    assert window.stack.currentWidget() is window.settings_page
    settled(qtbot, window)


def status(window) -> QLabel:
    return find(window, QLabel, "stripeKeyStatusLabel")


def save_key(qtbot, window, key: str) -> None:
    type_into(qtbot, find(window, QLineEdit, "stripeKeyEdit"), key)
    click(qtbot, find(window, QPushButton, "saveStripeKeyButton"))
    settled(qtbot, window)


def stored_hint(window) -> str | None:
    with window.ctx.uow() as uow:
        return uow.settings.get(KEY_HINT)


def assert_nothing_stored(window, memory_keyring) -> None:
    assert memory_keyring.entries == {}
    assert stored_hint(window) is None
    assert window.ctx.stripe.gateway() is None
    assert find(window, QLabel, "stripeModeLabel").text() == "NO STRIPE KEY"
    assert find(window, QLineEdit, "stripeKeyEdit").text() == ""  # refused keys don't linger


def files_under(*paths: Path) -> list[Path]:
    found = []
    for path in paths:
        found += [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else (
            [path] if path.exists() else [])
    return found


# -- Stripe key ------------------------------------------------------------------------
def test_valid_key_is_verified_and_kept_only_in_the_keyring(qtbot, qapp, keyed_settings,
                                                            sandbox, memory_keyring):
    setup_logging(keyed_settings)  # the app's own log file, at its most verbose
    root = logging.getLogger()
    handler, level = root.handlers[-1], root.level
    root.setLevel(logging.DEBUG)
    styled(qapp)
    window = open_window(qtbot, keyed_settings)
    try:
        show_settings(qtbot, window)
        edit = find(window, QLineEdit, "stripeKeyEdit")
        assert edit.echoMode() == QLineEdit.EchoMode.Password
        assert "Not connected" in find(window, QLabel, "stripeConnectionLabel").text()
        button = find(window, QPushButton, "saveStripeKeyButton")
        sandbox.inject_fault("/v1/customers", delay=0.5, method="GET")  # a slow Stripe
        type_into(qtbot, edit, TEST_KEY)
        click(qtbot, button)
        assert button.text() == "Verifying…" and not button.isEnabled()
        changed = []
        window.settings_page.stripeChanged.connect(lambda: changed.append(True))
        settled(qtbot, window)

        assert changed == [True]
        assert edit.text() == ""
        assert "sk_test_…6Wy1" in status(window).text() and "test mode" in status(window).text()
        assert status(window).property("role") == "hint"
        assert list(memory_keyring.entries.values()) == [TEST_KEY]
        assert find(window, QLabel, "stripeModeLabel").text() == "TEST MODE"
        assert find(window, QLabel, "stripeConnectionLabel").text() == "Test mode"
        assert button.text() == "Verify && save" and not button.isEnabled()  # edit is empty
        assert find(window, QPushButton, "removeStripeKeyButton").isEnabled()
        shown = [w.text() for w in window.findChildren(QLineEdit) + window.findChildren(QLabel)]
        assert not any(TEST_KEY in text for text in shown)
        handler.flush()
        database = Path(keyed_settings.database_url.removeprefix("sqlite:///"))
        stored = files_under(database, database.with_name(database.name + "-wal"),
                             database.with_name(database.name + "-shm"),
                             keyed_settings.log_dir)
        assert any(p.suffix == ".log" and p.stat().st_size > 0 for p in stored)
        assert database.exists()
        for path in stored:
            assert TEST_KEY.encode() not in path.read_bytes(), path
            assert TEST_KEY[8:].encode() not in path.read_bytes(), path
    finally:
        close(window)
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
    for path in files_under(keyed_settings.home, database):  # after the WAL checkpoint too
        assert TEST_KEY.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("key", ["hello", "pk_test_" + "A" * 24, "sk_test_short"])
def test_badly_formed_key_is_refused_inline(qtbot, keyed_window, memory_keyring, key):
    save_key(qtbot, keyed_window, key)
    assert "not a Stripe secret key" in status(keyed_window).text()
    assert status(keyed_window).property("role") == "error"
    assert find(keyed_window, QLineEdit, "stripeKeyEdit").property("invalid") is True
    assert_nothing_stored(keyed_window, memory_keyring)


def test_revoked_key_is_refused_with_stripes_reason(qtbot, keyed_window, sandbox,
                                                    memory_keyring):
    sandbox.revoke_key(TEST_KEY)
    save_key(qtbot, keyed_window, TEST_KEY)
    text = status(keyed_window).text()
    assert "Stripe did not accept this key" in text and "revoked" in text
    assert TEST_KEY not in text
    assert_nothing_stored(keyed_window, memory_keyring)


def test_live_key_refused_by_the_test_account(qtbot, keyed_window, memory_keyring):
    save_key(qtbot, keyed_window, LIVE_KEY)
    assert "Stripe did not accept this key" in status(keyed_window).text()
    assert_nothing_stored(keyed_window, memory_keyring)
    edit = find(keyed_window, QLineEdit, "stripeKeyEdit")
    qtbot.keyClicks(edit, "s")
    assert edit.property("invalid") is False  # typing again clears the mark
    save_key(qtbot, keyed_window, TEST_KEY)  # and a good key then works
    assert stored_hint(keyed_window) == "sk_test_…6Wy1"


def test_unavailable_keyring_is_explained_and_nothing_stored(qtbot, keyed_window,
                                                             memory_keyring):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    save_key(qtbot, keyed_window, TEST_KEY)
    text = status(keyed_window).text()
    assert "No secure OS keyring" in text and "never stores keys in plain files" in text
    assert_nothing_stored(keyed_window, memory_keyring)


def test_keyring_problem_at_start_is_shown(qtbot, qapp, keyed_settings):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    window = open_window(qtbot, keyed_settings)
    try:
        show_settings(qtbot, window)
        problem = find(window, QLabel, "stripeKeyringProblemLabel")
        assert problem.isVisible() and "No secure OS keyring" in problem.text()
    finally:
        close(window)


def test_remove_key_after_confirming(qtbot, keyed_window, memory_keyring):
    save_key(qtbot, keyed_window, TEST_KEY)
    assert memory_keyring.entries
    click(qtbot, find(keyed_window, QPushButton, "removeStripeKeyButton"))
    confirm_box(qtbot, keyed_window, "confirmRemoveStripeKey")
    settled(qtbot, keyed_window)
    assert memory_keyring.entries == {}
    assert stored_hint(keyed_window) is None
    assert "not connected" in status(keyed_window).text()
    assert find(keyed_window, QLabel, "stripeConnectionLabel").text() == "Not connected"
    assert find(keyed_window, QLabel, "stripeModeLabel").text() == "NO STRIPE KEY"
    assert not find(keyed_window, QPushButton, "removeStripeKeyButton").isEnabled()
    assert not find(keyed_window, QPushButton, "addPaymentMethodButton").isEnabled()


# -- Billing ---------------------------------------------------------------------------
def cards_table(window) -> QTableView:
    return find(window, QTableView, "paymentMethodsTable")


def add_test_card(qtbot, window, payment_method: str) -> None:
    click(qtbot, find(window, QPushButton, "addPaymentMethodButton"))
    dialog = wait_dialog(qtbot, window, "addPaymentMethodDialog")
    radio = find(dialog, QRadioButton, f"testCard_{payment_method}")
    radio.setChecked(True)
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
    settled(qtbot, window)


def rows(window) -> list[tuple[str, str, str]]:
    table = cards_table(window)
    return list(zip(*(table_column(table, c) for c in CardColumn), strict=True))


def stripe_default(window) -> str:
    customer = window.ctx.stripe.gateway().v1.customers.retrieve(
        settings_value(window, customer_key("test")))
    return customer["invoice_settings"]["default_payment_method"]


def settings_value(window, key: str) -> str | None:
    with window.ctx.uow() as uow:
        return uow.settings.get(key)


def test_sandbox_cards_add_set_default_and_remove(qtbot, sandbox_window):
    window = sandbox_window
    assert find(window, QLabel, "stripeConnectionLabel").text() == (
        "Sandbox — embedded Stripe emulator, no key needed")
    assert window.findChild(QLineEdit, "stripeKeyEdit") is None  # nothing to paste
    assert "No payment method yet" in find(window, QLabel, "billingHintLabel").text()

    add_test_card(qtbot, window, "pm_card_visa")
    assert rows(window) == [("Visa •••• 4242", "12/30", "Default")]
    assert not find(window, QLabel, "billingHintLabel").isVisible()
    add_test_card(qtbot, window, "pm_card_authenticationRequired")
    assert sorted(rows(window)) == [("Visa •••• 3184", "12/30", ""),
                                    ("Visa •••• 4242", "12/30", "Default")]

    table = cards_table(window)
    second = table_column(table, CardColumn.CARD).index("Visa •••• 3184")
    select_row(qtbot, table, second)
    click(qtbot, find(window, QPushButton, "setDefaultPaymentMethodButton"))
    settled(qtbot, window)
    assert {card: default for card, _exp, default in rows(window)} == {
        "Visa •••• 3184": "Default", "Visa •••• 4242": ""}
    card_id = window.settings_page.billing_section.model.card_at(second).id
    assert stripe_default(window) == card_id  # at Stripe, not just on screen
    assert settings_value(window, default_card_key("test")) == card_id
    assert not find(window, QPushButton, "setDefaultPaymentMethodButton").isEnabled()

    first = table_column(table, CardColumn.CARD).index("Visa •••• 4242")
    select_row(qtbot, table, first)
    click(qtbot, find(window, QPushButton, "removePaymentMethodButton"))
    confirm_box(qtbot, window, "confirmRemovePaymentMethod")
    settled(qtbot, window)
    assert rows(window) == [("Visa •••• 3184", "12/30", "Default")]
    customer = settings_value(window, customer_key("test"))
    assert [c.last4 for c in window.ctx.stripe.gateway().list_cards(customer)] == ["3184"]


def test_add_payment_method_entry_point_opens_the_dialog(qtbot, sandbox_window):
    window = sandbox_window
    window.show_area("actionJobs")
    window.show_area("actionSettings")
    window.settings_page.add_payment_method()
    dialog = wait_dialog(qtbot, window, "addPaymentMethodDialog")
    assert find(dialog, QRadioButton, "testCard_pm_card_visa").isChecked()
    assert len(dialog.findChildren(QRadioButton)) == 3
    dialog.reject()
    wait_closed(qtbot, dialog)
    assert window.stack.currentWidget() is window.settings_page


def test_billing_asks_to_connect_stripe_first(qtbot, keyed_window):
    assert "Connect Stripe first" in find(keyed_window, QLabel, "billingHintLabel").text()
    assert not find(keyed_window, QPushButton, "addPaymentMethodButton").isEnabled()
    keyed_window.settings_page.add_payment_method()  # e.g. from the funding prompt
    assert keyed_window.findChild(QDialog, "addPaymentMethodDialog") is None
    error = find(keyed_window, QLabel, "billingErrorLabel")
    assert error.isVisible() and "Connect Stripe first" in error.text()


def test_saving_a_key_loads_that_accounts_cards(qtbot, keyed_window):
    save_key(qtbot, keyed_window, TEST_KEY)
    assert find(keyed_window, QPushButton, "addPaymentMethodButton").isEnabled()
    assert "No payment method yet" in find(keyed_window, QLabel, "billingHintLabel").text()
    add_test_card(qtbot, keyed_window, "pm_card_visa")
    assert rows(keyed_window) == [("Visa •••• 4242", "12/30", "Default")]


def test_billing_errors_show_inline(qtbot, sandbox_window, sandbox):
    add_test_card(qtbot, sandbox_window, "pm_card_visa")
    sandbox.inject_fault("/v1/payment_methods", status=400, code="resource_missing",
                         method="GET")
    click(qtbot, find(sandbox_window, QPushButton, "refreshPaymentMethodsButton"))
    settled(qtbot, sandbox_window)
    error = find(sandbox_window, QLabel, "billingErrorLabel")
    assert error.isVisible() and "Could not load the payment methods" in error.text()
    click(qtbot, find(sandbox_window, QPushButton, "refreshPaymentMethodsButton"))
    settled(qtbot, sandbox_window)
    assert not error.isVisible()
    assert rows(sandbox_window) == [("Visa •••• 4242", "12/30", "Default")]


def test_cards_model_passes_qtmodeltester(qtmodeltester):
    from opentrain_desk.services.ports import CardInfo
    model = CardsModel()
    model.set_cards([CardInfo("pm_1", "visa", "4242", 12, 2030, True),
                     CardInfo("pm_2", "mastercard", "4444", 3, 2031)])
    qtmodeltester.check(model)
    assert model.index(1, CardColumn.CARD).data() == "Mastercard •••• 4444"
    assert model.index(1, CardColumn.EXPIRES).data() == "03/31"


# -- Company ---------------------------------------------------------------------------
def test_company_details_save_and_reload(qtbot, qapp, settings):
    styled(qapp)
    window = open_window(qtbot, settings)
    try:
        show_settings(qtbot, window)
        type_into(qtbot, find(window, QLineEdit, "companyNameEdit"), "Acme Data Labs Ltd")
        type_into(qtbot, find(window, QLineEdit, "companyEmailEdit"), "not-an-email")
        type_into(qtbot, find(window, QPlainTextEdit, "companyAddressEdit"),
                  "1 Main St\nLondon N1 1AA\nUnited Kingdom")
        type_into(qtbot, find(window, QLineEdit, "companyTaxIdEdit"), "GB123456789")
        click(qtbot, find(window, QPushButton, "saveCompanyButton"))
        settled(qtbot, window)
        error = find(window, QLabel, "companyErrorLabel")
        assert error.isVisible() and "not an email address" in error.text()
        assert find(window, QLineEdit, "companyEmailEdit").property("invalid") is True
        assert settings_value(window, "company.name") is None  # nothing saved

        type_into(qtbot, find(window, QLineEdit, "companyEmailEdit"), "Billing@Acme.example")
        click(qtbot, find(window, QPushButton, "saveCompanyButton"))
        settled(qtbot, window)
        assert not error.isVisible()
        assert find(window, QLabel, "companyStatusLabel").text() == "Saved."
        with window.ctx.uow() as uow:
            audit = uow.audit_log.for_entity("company", None)
        assert [entry.action for entry in audit] == ["updated"]
        assert "Acme Data Labs Ltd" in audit[0].after and "billing@acme.example" in audit[0].after
    finally:
        close(window)

    window = open_window(qtbot, settings)  # a fresh window reads what was stored
    try:
        show_settings(qtbot, window)
        assert find(window, QLineEdit, "companyNameEdit").text() == "Acme Data Labs Ltd"
        assert find(window, QLineEdit, "companyEmailEdit").text() == "billing@acme.example"
        assert find(window, QPlainTextEdit, "companyAddressEdit").toPlainText() == (
            "1 Main St\nLondon N1 1AA\nUnited Kingdom")
        assert find(window, QLineEdit, "companyTaxIdEdit").text() == "GB123456789"
        click(qtbot, find(window, QPushButton, "saveCompanyButton"))
        settled(qtbot, window)
        assert find(window, QLabel, "companyStatusLabel").text() == "No changes to save."
    finally:
        close(window)


def test_live_mode_adds_cards_on_stripes_hosted_page(qtbot, keyed_window, monkeypatch):
    """The emulator has no Checkout: a fake live gateway stands in for Stripe here."""
    from types import SimpleNamespace

    from opentrain_desk.ui.views.settings import payment_method_dialog
    from tests.unit.test_billing_setup import FakeGateway

    opened: list[str] = []
    monkeypatch.setattr(payment_method_dialog, "QDesktopServices",
                        SimpleNamespace(openUrl=lambda url: opened.append(url.toString())))
    gateway = FakeGateway(mode="live")
    monkeypatch.setattr(keyed_window.ctx.stripe, "gateway", lambda: gateway)
    keyed_window.settings_page.add_payment_method()
    dialog = wait_dialog(qtbot, keyed_window, "addPaymentMethodDialog")
    assert dialog.findChildren(QRadioButton) == []  # no test cards with a live key
    finished = find(dialog, QPushButton, "submitButton")
    assert finished.text() == "I've finished in the browser" and not finished.isEnabled()

    click(qtbot, find(dialog, QPushButton, "openCardSetupButton"))
    settled(qtbot, keyed_window)
    assert opened == ["https://checkout.stripe.com/c/pay/cs_1"]
    assert "cs_1" in find(dialog, QLabel, "cardSetupUrlLabel").text()
    submit(qtbot, dialog)  # too early: the card is not saved at Stripe yet
    settled(qtbot, keyed_window)
    error = find(dialog, QLabel, "formErrorLabel")
    assert dialog.isVisible() and "has not saved a card yet" in error.text()

    gateway.sessions["cs_1"] = "pm_live_card"
    submit(qtbot, dialog)
    wait_closed(qtbot, dialog)
    settled(qtbot, keyed_window)
    assert rows(keyed_window) == [("Visa •••• 4242", "12/30", "Default")]
    assert gateway.attached == ["pm_live_card"] and gateway.defaults == ["pm_live_card"]
