from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opentrain_desk.domain.errors import ArchiveRefused, IllegalTransition, ValidationError
from opentrain_desk.domain.jobs import Job, clean_email
from opentrain_desk.domain.milestones import (TRANSITIONS, Action, Milestone, MilestoneDraft,
                                              MilestoneStatus, PayoutStatus, allowed_actions,
                                              next_status)
from opentrain_desk.domain.money import Money

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
S, A = MilestoneStatus, Action


def make(status=S.NOT_FUNDED, title="Batch 1", cents=10_000) -> Milestone:
    m = Milestone(contract_id=1, title=title, amount_cents=cents)
    m.status = status
    return m


def test_happy_path_follows_the_product_vocabulary():
    m = make()
    labels = [m.status.label]
    for action in (A.START_FUNDING, A.FUNDING_SUCCEEDED, A.SUBMIT, A.APPROVE):
        m.apply(action, NOW)
        labels.append(m.status.label)
    assert labels == ["Not Funded", "Funding", "Active & Funded", "Pending approval", "Paid"]


def test_failed_funding_goes_back_and_keeps_the_reason():
    m = make(S.FUNDING)
    m.apply(A.FUNDING_FAILED, NOW, "Your card was declined.")
    assert m.status is S.NOT_FUNDED and m.status_note == "Your card was declined."


def test_request_changes_goes_back_with_the_note():
    m = make(S.PENDING_APPROVAL)
    m.apply(A.REQUEST_CHANGES, NOW, "Please fix rows 10-20")
    assert m.status is S.ACTIVE_FUNDED and m.status_note == "Please fix rows 10-20"


def test_illegal_action_names_state_and_action():
    with pytest.raises(IllegalTransition, match="Cannot approve a milestone that is Not Funded"):
        make().apply(A.APPROVE, NOW)


def test_edit_and_delete_only_while_not_funded():
    draft = MilestoneDraft("New name", Money(500), "desc", date(2027, 1, 1))
    m = make()
    m.edit(draft, NOW)
    assert (m.title, m.amount_cents, m.due_date) == ("New name", 500, date(2027, 1, 1))
    m.ensure_deletable()
    funded = make(S.ACTIVE_FUNDED)
    with pytest.raises(IllegalTransition, match="Cannot edit a milestone that is Active & Funded"):
        funded.edit(draft, NOW)
    with pytest.raises(IllegalTransition, match="Cannot delete a milestone that is Active"):
        funded.ensure_deletable()


def test_approve_records_who_and_when():
    m = make(S.PENDING_APPROVAL)
    m.approve(NOW, "owner")
    assert (m.status, m.approved_at, m.approved_by) == (S.PAID, NOW, "owner")


@pytest.mark.parametrize("title", ["", "   "])
def test_draft_needs_a_title(title):
    with pytest.raises(ValidationError, match="name"):
        MilestoneDraft(title, Money(100))


def test_archive_refusal_lists_unresolved_milestones():
    job = Job(title="RLHF")
    done = make(S.PAID, "Done")
    done.payout_status = PayoutStatus.PAID_OUT
    failed, waiting = make(S.PAID, "Payout failed"), make(S.PAID, "Waiting")
    failed.payout_status, waiting.payout_status = PayoutStatus.FAILED, PayoutStatus.PENDING_SETUP
    milestones = [done, make(S.NOT_FUNDED, "Todo"), make(S.FUNDING, "In flight"),
                  make(S.ACTIVE_FUNDED, "Working"), make(S.PENDING_APPROVAL, "Review me"),
                  failed, waiting, make(S.REFUNDING, "Refund in flight"),
                  make(S.REFUNDED, "Refunded")]
    with pytest.raises(ArchiveRefused) as refused:
        job.archive(milestones, NOW)
    assert refused.value.unresolved == ["Todo — Not Funded", "In flight — Funding",
                                        "Working — Active & Funded",
                                        "Review me — Pending approval",
                                        "Payout failed — Paid, payout Failed",
                                        "Waiting — Paid, payout Pending – trainer setup",
                                        "Refund in flight — Refunding"]
    assert "Done" not in str(refused.value) and not job.archived
    job.archive([done, make(S.REFUNDED)], NOW)
    assert job.archived and job.archived_at == NOW


def test_email_validation():
    assert clean_email(" Ana@Example.COM ") == "ana@example.com"
    for bad in ("", "ana", "ana@", "a b@c.d"):
        with pytest.raises(ValidationError):
            clean_email(bad)


@given(st.lists(st.sampled_from(list(Action)), max_size=30))
def test_any_action_sequence_obeys_the_table(actions):
    m = make()
    for action in actions:
        before = m.status
        if (before, action) in TRANSITIONS:
            assert m.apply(action, NOW) is TRANSITIONS[(before, action)]
            assert action in allowed_actions(before)
        else:
            with pytest.raises(IllegalTransition) as error:
                m.apply(action, NOW)
            assert error.value.state == before.label and m.status is before
            assert action not in allowed_actions(before)


@given(st.sampled_from(list(MilestoneStatus)), st.sampled_from(list(Action)))
def test_next_status_is_total_and_pure(status, action):
    try:
        result = next_status(status, action)
    except IllegalTransition:
        assert (status, action) not in TRANSITIONS
    else:
        assert result is TRANSITIONS[(status, action)]


def test_paid_is_terminal_and_every_state_is_reachable():
    assert allowed_actions(S.PAID) == frozenset()
    reachable, frontier = {S.NOT_FUNDED}, [S.NOT_FUNDED]
    while frontier:
        state = frontier.pop()
        for action in allowed_actions(state):
            nxt = next_status(state, action)
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(MilestoneStatus)
