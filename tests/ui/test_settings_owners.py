"""Settings closed while its database and Stripe work is in flight: nothing is delivered to
the dead sections, work queued for them never starts, and no exception reaches Qt."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import shiboken6
from PySide6.QtWidgets import QLineEdit, QPushButton

from opentrain_desk.services import (billing, plan_status, subscriptions,
                                     workspace_settings)
from opentrain_desk.services.workspace_settings import CompanyDetails
from opentrain_desk.ui.views.settings import SettingsPage
from opentrain_desk.ui.views.settings.billing_section import BillingSection
from opentrain_desk.ui.views.settings.company_section import CompanySection
from opentrain_desk.ui.views.settings.logo_field import LogoField
from opentrain_desk.ui.views.settings.plan_section import PlanSection
from opentrain_desk.ui.views.settings.profile_section import ProfileSection
from tests.conftest import at_head
from tests.ui.conftest import click, find, open_window, styled, type_into
from tests.ui.test_settings_stripe import close, settled, show_settings

CALLBACKS = ((CompanySection, "_fill"), (CompanySection, "_saved"),
             (CompanySection, "_save_failed"), (CompanySection, "_show_error"),
             (BillingSection, "_finished"), (PlanSection, "_show"),
             (PlanSection, "_show_plans"), (PlanSection, "_fail"),
             (ProfileSection, "_loaded"), (LogoField, "_show"))


@pytest.fixture
def settings_window(qtbot, qapp, settings, sandbox, _head_workspace):
    """The sandbox (cards and plans come from the emulator), Settings already loaded."""
    styled(qapp)
    at_head(settings.db_url, _head_workspace)
    win = open_window(qtbot, replace(settings, sandbox=True), sandbox_server=sandbox)
    show_settings(qtbot, win)
    win.ctx.sync.stop()  # only the work started by the tests below
    settled(qtbot, win)
    yield win
    close(win)


class Gate:
    """Blocks the patched service functions until opened; counts who got in."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered: dict[str, int] = {}
        self.started = threading.Event()

    def wrap(self, name: str, fn, fail: bool = False):
        def gated(*args, **kwargs):
            self.entered[name] = self.entered.get(name, 0) + 1
            self.started.set()
            assert self.open.wait(20), "the test never opened the gate"
            if fail:
                raise RuntimeError("boom after the owner died")
            return fn(*args, **kwargs)
        return gated


def record_deliveries(monkeypatch) -> list[tuple[object, str]]:
    """Every section callback that runs, with the object it ran on."""
    delivered: list[tuple[object, str]] = []
    for cls, name in CALLBACKS:
        original = getattr(cls, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            delivered.append((self, _name))
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(cls, name, spy)
    return delivered


def delete_and_wait(qtbot, widget) -> None:
    widget.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(widget))


def test_closing_settings_mid_flight_delivers_nothing(qtbot, settings_window, monkeypatch):
    ctx = settings_window.ctx
    gate = Gate()
    monkeypatch.setattr(workspace_settings, "load_company",
                        gate.wrap("load_company", workspace_settings.load_company))
    monkeypatch.setattr(plan_status, "plan_state",
                        gate.wrap("plan_state", plan_status.plan_state))
    monkeypatch.setattr(billing, "list_cards", gate.wrap("list_cards", billing.list_cards))
    monkeypatch.setattr(subscriptions, "available_plans",
                        gate.wrap("available_plans", subscriptions.available_plans))
    delivered = record_deliveries(monkeypatch)

    with qtbot.captureExceptions() as exceptions:
        page = SettingsPage(ctx)
        sections = [page.company_section, page.billing_section, page.plan_section,
                    page.profile_section, page.company_section.logo]  # kept: ids stay unique
        mine = {id(section) for section in sections}
        page.show()  # loads: company (db, gated) and cards (net, gated) first
        qtbot.waitUntil(lambda: {"load_company", "list_cards"} <= set(gate.entered))
        assert ctx.db.pending and ctx.net.pending
        delivered.clear()  # constructors may show defaults; from here on nothing may arrive
        delete_and_wait(qtbot, page)
        gate.open.set()
        qtbot.waitUntil(lambda: ctx.db.pending == 0 and ctx.net.pending == 0, timeout=20000)
        qtbot.wait(50)  # a delivery would be queued on the event loop: let it run

    assert [name for obj, name in delivered if id(obj) in mine] == []
    assert exceptions == []
    assert "plan_state" not in gate.entered  # queued behind the gate, owner gone: not started
    del sections


def test_closed_company_section_gets_neither_result_nor_error(qtbot, settings_window, monkeypatch):
    """A save that started is committed (its unit of work ran), but the answer goes
    nowhere; a failure after the section died reaches neither the section nor the
    status bar."""
    ctx = settings_window.ctx
    failures: list[str] = []
    ctx.db.failed.connect(failures.append)
    delivered = record_deliveries(monkeypatch)
    save_company = workspace_settings.save_company
    for fail in (False, True):
        gate = Gate()
        monkeypatch.setattr(workspace_settings, "save_company",
                            gate.wrap("save_company", save_company, fail))
        with qtbot.captureExceptions() as exceptions:
            section = CompanySection(ctx)
            section.show()
            keep = section
            name = f"Closed Mid-Flight {'Ltd' if fail else 'LLC'}"
            type_into(qtbot, find(section, QLineEdit, "companyNameEdit"), name)
            delivered.clear()
            click(qtbot, find(section, QPushButton, "saveCompanyButton"))
            assert gate.started.wait(10)
            delete_and_wait(qtbot, section)
            gate.open.set()
            qtbot.waitUntil(lambda: ctx.db.pending == 0, timeout=20000)
            qtbot.wait(50)
        assert [n for obj, n in delivered if obj is keep] == []
        assert exceptions == []
        stored = workspace_settings.load_company(ctx.uow)
        expected = "Closed Mid-Flight LLC"  # the first save ran; the second one failed
        assert stored == CompanyDetails(name=expected)
        del keep
    assert failures == []
