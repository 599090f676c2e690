"""Keeping people informed: declined cards, submissions, notifications, trainer messages."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton

from opentrain_desk.persistence import history_queries as hq
from opentrain_desk.services import billing
from tests.ui.conftest import click, contract_of, find, select_row, submit, wait_closed, wait_dialog
from tests.ui.test_funding_ui import hire_via_dialog, statuses
from tests.ui.test_timeline import create_job_via_dialog


def test_a_declined_card_says_so_at_once(qtbot, sandbox_window, gateway):
    window = sandbox_window
    billing.add_test_card(window.ctx.uow, gateway, "pm_card_chargeCustomerFail")
    create_job_via_dialog(qtbot, window)
    table = hire_via_dialog(qtbot, window, fund=False)
    select_row(qtbot, table, 0)
    click(qtbot, contract_of(table).findChild(QPushButton, "fundMilestoneButton"))
    fund = wait_dialog(qtbot, window, "fundDialog")
    submit(qtbot, fund)
    wait_closed(qtbot, fund)
    bar = window.statusBar()
    qtbot.waitUntil(lambda: "declined" in bar.currentMessage().lower(), timeout=10000)
    assert "Funding of $1,250.00 for “Batch 1” failed" in bar.currentMessage()
    [row] = hq.notifications_page(window.workspace.engine)
    assert row.kind == "funding failed" and row.unread and row.milestone_id is not None
    assert window.notifications_page.unread == 1
    qtbot.waitUntil(lambda: statuses(table) == ["Not Funded"])


def test_details_of_a_pending_approval_show_the_note_and_the_link(qtbot, window):
    from opentrain_desk.services import jobs as services
    from tests.ui.test_desk_forms import job_with_contract
    from tests.ui.test_timeline import milestone_table
    job, hired = job_with_contract(window)
    uow = window.ctx.uow
    with uow() as u:  # funded outside the UI: this test is about what the details say
        from opentrain_desk.domain.milestones import Action
        m = u.milestones.get(hired.milestone_id)
        m.apply(Action.START_FUNDING, u.now)
        m.apply(Action.FUNDING_SUCCEEDED, u.now)
        u.commit()
    services.record_submission(uow(), hired.milestone_id, "All 500 pairs ranked",
                               "https://drive.example.com/batch1")
    window.jobs_page.open_job(job, hired.contract_id, hired.milestone_id)
    table = milestone_table(qtbot, window)
    qtbot.waitUntil(lambda: table.selectionModel().hasSelection())
    detail = find(window, QLabel, "milestoneDetailLabel")
    qtbot.waitUntil(lambda: "Pending approval" in detail.text())
    text = detail.text().replace("\u200b", "")
    assert "Trainer's note: All 500 pairs ranked" in text
    assert "Deliverable: https://drive.example.com/batch1" in text


def test_review_notifications_resolve_themselves_and_the_badge_counts_what_needs_a_person(
        qtbot, window, gateway):
    from opentrain_desk.services import jobs as services
    from opentrain_desk.services import payouts
    from opentrain_desk.services.notifications import notify
    from tests.ui.test_history_views import funded_and_submitted
    uow = window.ctx.uow
    page = window.notifications_page
    action = window.areas["actionNotifications"][0]
    first, second = funded_and_submitted(uow, gateway, n=2)
    with uow() as u:  # news only: does not need anyone
        notify(u, "paid out", "$10.00 paid out to Ana Lima")
        u.commit()
    page.reload()
    qtbot.waitUntil(lambda: action.text() == "Notifications (2)" and page.unread == 3)
    services.request_changes(uow(), first, "Rank the last 20 pairs again")
    page.reload()
    qtbot.waitUntil(lambda: action.text() == "Notifications (1)")
    payouts.approve_milestone(uow(), second)
    page.reload()
    qtbot.waitUntil(lambda: action.text() == "Notifications")
    open_kinds = [r.kind for r in hq.notifications_page(uow.engine) if r.unread]
    assert open_kinds == ["paid out"]
    with uow() as u:  # the trainer is told what to change
        from opentrain_desk.persistence.orm import outgoing_messages
        import sqlalchemy as sa
        [body] = u.session.execute(sa.select(outgoing_messages.c.body).where(
            outgoing_messages.c.kind == "changes requested")).scalars()
    assert "Rank the last 20 pairs again" in body


def test_payout_requirements_are_in_words(qtbot, window):
    from opentrain_desk.domain.payout_requirements import requirements_in_words
    from tests.ui.test_desk_forms import job_with_contract
    from tests.ui.test_timeline import milestone_table
    assert requirements_in_words("individual.dob.day,individual.dob.month,business_profile.mcc,"
                                 "business_profile.url,external_account,tos_acceptance.ip",
                                 limit=4) == ("date of birth, business type, website, bank "
                                              "account for payouts and 1 more")
    job, hired = job_with_contract(window)
    with window.ctx.uow() as u:
        trainer = u.trainers.get(u.contracts.get(hired.contract_id).trainer_id)
        trainer.stripe_account_id = "acct_1PqTESTTESTTEST"
        trainer.requirements_due = "business_profile.mcc,business_profile.url"
        u.commit()
    window.jobs_page.open_job(job, hired.contract_id)
    milestone_table(qtbot, window)
    label = find(window, QLabel, "payoutReadinessLabel")
    qtbot.waitUntil(lambda: label.text().startswith("Payout setup incomplete"))
    assert label.text() == "Payout setup incomplete — due: business type, website"
    assert "mcc" not in label.text() and "url" not in label.text()


def test_approved_by_shows_the_name_given_in_settings(qtbot, window, gateway):
    from opentrain_desk.services import payouts
    from tests.ui.conftest import type_into
    from tests.ui.test_history_views import funded_and_submitted
    from opentrain_desk.ui.views.history_views import HistoryColumn
    from PySide6.QtWidgets import QLineEdit, QTableView
    window.show_area("actionSettings")
    status = find(window, QLabel, "yourNameStatusLabel")
    qtbot.waitUntil(lambda: status.text().startswith("Signed in as "))
    assert "(Owner, login tester)" in status.text()  # the solo workspace's Owner
    name = find(window, QLineEdit, "yourNameEdit")
    type_into(qtbot, name, "Maria Gomez")
    click(qtbot, find(window, QPushButton, "saveYourNameButton"))
    qtbot.waitUntil(lambda: status.text().startswith("Saved."))
    uow = window.ctx.uow
    [m_id] = funded_and_submitted(uow, gateway)
    payouts.approve_milestone(uow(), m_id)
    [row] = hq.payment_history(uow.engine)
    assert row.approved_by == "Maria Gomez"  # not the login ("tester")
    window.show_area("actionReports")
    table = window.reports_page.findChild(QTableView, "paymentHistoryTable")
    table.model().reload()
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    assert table.model().index(0, HistoryColumn.APPROVED_BY).data() == "Maria Gomez"


def test_trainer_messages_follow_a_setup_delayed_payout(qtbot, window, gateway, sandbox):
    from opentrain_desk.services import payouts
    from tests.integration.test_payouts import funded_and_submitted, ready_trainer, worker
    uow = window.ctx.uow
    [m_id] = funded_and_submitted(uow, gateway)
    payouts.approve_milestone(uow(), m_id)  # the trainer has no payout account yet
    with uow() as u:
        trainer_id = u.contracts.get(u.milestones.get(m_id).contract_id).trainer_id
    assert [m.kind for m in hq.trainer_messages(uow.engine, trainer_id)] == ["setup needed"]
    ready_trainer(uow, gateway, sandbox, m_id)  # setup done: the prompt is withdrawn
    worker(uow, gateway).run_once()             # and the waiting payout goes out
    messages = hq.trainer_messages(uow.engine, trainer_id)
    assert [m.kind for m in messages] == ["payment sent", "setup needed (withdrawn)"]
    assert "has been sent to your Stripe account" in messages[0].body
    assert not messages[1].owed and hq.unsent_message_count(uow.engine, trainer_id) == 1
