"""Two seats on one PostgreSQL workspace editing or paying the same thing: the second
save is refused with who changed it, when, and what it is now; money actions race and
exactly one wins."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from opentrain_desk.domain.errors import ConcurrentChange
from opentrain_desk.domain.milestones import MilestoneDraft, MilestoneStatus
from opentrain_desk.domain.money import Money
from opentrain_desk.domain.roles import Role, RoleRefused
from opentrain_desk.persistence import database
from opentrain_desk.services import funding, payouts
from opentrain_desk.services import jobs as services
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from tests.integration.test_funding import with_card
from tests.integration.test_payouts import funded_and_submitted

SEATS = {"dana": ("Dana Finance", Role.FINANCE), "max": ("Max Manager", Role.MANAGER),
         "olga": ("Olga Owner", Role.OWNER)}


@pytest.fixture
def seats(postgres_url):
    """Two seats: each its own engine (connections) and member login."""
    engines = [database.create_engine(postgres_url) for _ in SEATS]
    database.migrate(engines[0])
    factories = [UnitOfWorkFactory(engine, login) for engine, login in zip(engines, SEATS,
                                                                            strict=True)]
    with factories[0]() as uow:
        for login, (name, role) in SEATS.items():
            uow.members.add(login, name, role.value, datetime.now(timezone.utc))
        uow.commit()
    yield factories
    for engine in engines:
        engine.dispose()


def _hired(factory) -> tuple[int, int]:
    job_id = services.create_job(factory(), "Code review RLHF")
    hired = services.hire_trainer(factory(), job_id, "Ana Lima", "ana@example.com",
                                  MilestoneDraft("Batch 1", Money.parse("1,250.00")))
    return job_id, hired.milestone_id


def _milestone(factory, m_id):
    with factory() as uow:
        return uow.milestones.get(m_id)


def test_the_second_milestone_edit_is_refused_with_who_when_and_the_new_values(seats):
    dana, max_, olga = seats
    _job, m_id = _hired(olga)
    seen = _milestone(dana, m_id).version  # both forms opened on this version
    services.edit_milestone(max_(), m_id, MilestoneDraft("Batch 1 (500 dialogues)",
                                                         Money.parse("1,300.00")), seen)
    with pytest.raises(ConcurrentChange) as refused:
        services.edit_milestone(olga(), m_id, MilestoneDraft("Batch one", Money(99_00)), seen)
    message = str(refused.value)
    assert message.startswith("Changed by Max Manager at ")
    assert "“Batch 1 (500 dialogues)”, $1,300.00, no due date" in message
    assert "still in the form" in message
    after = _milestone(dana, m_id)
    assert (after.title, after.amount_cents, after.updated_by) == (
        "Batch 1 (500 dialogues)", 130_000, "max")
    # having seen the new values, Olga saves over them with the version she was told
    services.edit_milestone(olga(), m_id, MilestoneDraft("Batch one", Money(99_00)),
                            refused.value.version)
    assert _milestone(max_, m_id).updated_by == "olga"


def test_a_lost_compare_and_set_names_the_winner(seats):
    """Both read the same version; the other seat commits in between: the store's
    compare-and-set refuses this one, and the message says who won."""
    dana, max_, olga = seats
    _job, m_id = _hired(olga)
    with pytest.raises(ConcurrentChange, match="^Changed by Max Manager at .*“Late”"):
        with olga() as uow:
            mine = uow.milestones.get(m_id)
            services.edit_milestone(max_(), m_id, MilestoneDraft("Late", Money(5_00)))
            mine.title = "Mine"
            uow.commit()
    assert _milestone(dana, m_id).title == "Late"


def test_the_second_job_rename_is_refused_and_names_the_member(seats):
    dana, max_, olga = seats
    job_id, _m = _hired(olga)
    with dana() as uow:
        seen = uow.jobs.get(job_id).version
    version = services.edit_job(max_(), job_id, "RLHF code review (Python)", None, seen)
    assert version == seen + 1
    with pytest.raises(ConcurrentChange,
                       match="^Changed by Max Manager at .*now “RLHF code review \\(Python\\)”"):
        services.edit_job(olga(), job_id, "Something else", None, seen)
    with pytest.raises(RoleRefused, match=r"Your role \(Finance\) cannot create, edit or"):
        services.edit_job(dana(), job_id, "Something else", None, version)
    with dana() as uow:
        job = uow.jobs.get(job_id)
        assert (job.title, job.updated_by, job.version) == ("RLHF code review (Python)",
                                                           "max", version)
        assert job.updated_at is not None


def _race(calls) -> list[BaseException | object]:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as error:  # noqa: BLE001 - collected for the assertions
            results[i] = error
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_seats_approving_at_once_exactly_one_wins(seats, gateway, sandbox):
    dana, _max, olga = seats
    [m_id] = funded_and_submitted(olga, gateway)
    results = _race([lambda: payouts.approve_milestone(dana(), m_id),
                     lambda: payouts.approve_milestone(olga(), m_id)])
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], ConcurrentChange), lost[0]
    winner = _milestone(dana, m_id)
    assert winner.status is MilestoneStatus.PAID
    name = SEATS[winner.approved_by][0]
    assert str(lost[0]).startswith(f"Changed by {name} at ")
    assert "is Paid now. Nothing was paid twice." in str(lost[0])
    with dana() as uow:
        assert len(uow.operations.for_milestone(m_id)) == 2  # one funding, one payout


def test_two_seats_funding_at_once_exactly_one_wins(seats, gateway):
    dana, _max, olga = seats
    _job, m_id = _hired(olga)
    with_card(olga, gateway)
    results = _race([lambda: funding.queue_funding(dana(), m_id, "test"),
                     lambda: funding.queue_funding(olga(), m_id, "test")])
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(lost) == 1 and isinstance(lost[0], ConcurrentChange), results
    assert "is Funding now. Nothing was charged twice." in str(lost[0])
    with dana() as uow:
        assert len(uow.operations.for_milestone(m_id)) == 1
