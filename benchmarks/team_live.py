#!/usr/bin/env python3
"""Two seats on one PostgreSQL workspace: how soon seat B sees seat A's change, and what
approving costs with 5 seats active instead of 1.

1. Visible on the other seat (100 changes): seat A edits a milestone (its own engine, the
   service call, commit); seat B's ``PgChangeFeed`` delivers the change and B re-reads the
   milestone through its read side until it shows the new title. Baselines measured in
   the same run: a bare LISTEN/NOTIFY round trip between two connections (the floor of
   any push), and B polling its read side in a tight loop (what it costs to learn the
   same thing without a feed, burning a core). Median and p95 of each, and the ratios.
2. Approval latency: ``approve_milestone`` on seat 1, with 1 seat open vs 5 seats open
   (5 listeners whose screen re-reads the contract's milestones after each coalesced
   burst, as ui/live.py does, and 4 of them editing a milestone of their own every 20 ms
   meanwhile). Median and p95.

    python benchmarks/team_live.py [--url postgresql+psycopg://postgres@127.0.0.1/test]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from opentrain_desk.domain.milestones import MilestoneDraft  # noqa: E402
from opentrain_desk.domain.money import Money  # noqa: E402
from opentrain_desk.domain.roles import Role  # noqa: E402
from opentrain_desk.persistence import database  # noqa: E402
from opentrain_desk.persistence.live import PgChangeFeed  # noqa: E402
from opentrain_desk.persistence.orm import milestones  # noqa: E402
from opentrain_desk.persistence.read_side import SqlReadSide  # noqa: E402
from opentrain_desk.services import jobs, payouts  # noqa: E402
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory  # noqa: E402
from opentrain_desk.ui.live import COALESCE_MS  # noqa: E402

N = 100


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def show(name: str, samples: list[float]) -> tuple[float, float]:
    median, p95 = stats(samples)
    print(f"  {name:<46} median {median:7.2f} ms   p95 {p95:7.2f} ms")
    return median, p95


class Seat:
    def __init__(self, url: str, login: str) -> None:
        self.engine = database.create_engine(url)
        self.uow = UnitOfWorkFactory(self.engine, login)
        self.read = SqlReadSide(self.engine)
        self.feed: PgChangeFeed | None = None
        self.changed = threading.Event()

    def listen(self, on_change=None) -> None:
        self.feed = PgChangeFeed(self.engine)

        def arrived(tables: set[str]) -> None:
            if on_change is not None:
                on_change(tables)
            self.changed.set()
        self.feed.start(arrived)
        if not self.feed.connected.wait(10):
            raise SystemExit("the change feed did not connect")

    def close(self) -> None:
        if self.feed is not None:
            self.feed.stop()
        self.engine.dispose()


def setup(url: str, milestones_n: int) -> tuple[int, list[int]]:
    engine = database.create_engine(url)
    database.migrate(engine)
    factory = UnitOfWorkFactory(engine, "seat1")
    with factory() as uow:
        for i in range(1, 6):
            uow.members.add(f"seat{i}", f"Seat {i}", Role.OWNER.value, uow.now)
        uow.commit()
    job_id = jobs.create_job(factory(), "Benchmark job")
    hired = jobs.hire_trainer(factory(), job_id, "Ana Lima", "ana@example.com",
                              MilestoneDraft("M0", Money(10_000)))
    ids = [hired.milestone_id] + [
        jobs.add_milestone(factory(), hired.contract_id, MilestoneDraft(f"M{i}", Money(10_000)))
        for i in range(1, milestones_n)]
    engine.dispose()
    return hired.contract_id, ids


def pending_approval(url: str, ids: list[int]) -> None:
    """Skip funding (Stripe) for the approval benchmark: as if funded and submitted."""
    engine = database.create_engine(url)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(milestones.update().where(milestones.c.id.in_(ids)).values(
            status="PENDING_APPROVAL", funded_at=now, submitted_at=now,
            payment_intent_id="pi_bench", charge_id="ch_bench"))
    engine.dispose()


def bare_notify(url: str) -> list[float]:
    conninfo = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    listener = psycopg.connect(conninfo, autocommit=True)
    sender = psycopg.connect(conninfo, autocommit=True)
    listener.execute("LISTEN otd_bench")
    samples = []
    for i in range(N):
        start = time.perf_counter()
        sender.execute(f"NOTIFY otd_bench, '{i}'")
        for _note in listener.notifies(timeout=5, stop_after=1):
            pass
        samples.append(time.perf_counter() - start)
    listener.close()
    sender.close()
    return samples


def visible_with_feed(a: Seat, b: Seat, m_id: int) -> list[float]:
    samples = []
    for i in range(N):
        b.changed.clear()
        title = f"feed {i}"
        start = time.perf_counter()
        jobs.edit_milestone(a.uow(), m_id, MilestoneDraft(title, Money(10_000 + i)))
        while True:
            if not b.changed.wait(5):
                raise SystemExit("seat B never heard of the change")
            b.changed.clear()
            if b.read.milestone(m_id).title == title:
                break
        samples.append(time.perf_counter() - start)
    return samples


def visible_by_polling(a: Seat, b: Seat, m_id: int) -> list[float]:
    samples = []
    for i in range(N):
        title = f"poll {i}"
        done = threading.Event()
        seen: list[float] = []

        def poll(title=title, seen=seen, done=done) -> None:
            while b.read.milestone(m_id).title != title:
                pass
            seen.append(time.perf_counter())
            done.set()
        start = time.perf_counter()
        poller = threading.Thread(target=poll)
        poller.start()
        jobs.edit_milestone(a.uow(), m_id, MilestoneDraft(title, Money(10_000 + i)))
        done.wait(10)
        poller.join()
        samples.append(seen[0] - start)
    return samples


def approvals(seat: Seat, ids: list[int]) -> list[float]:
    samples = []
    for m_id in ids:
        start = time.perf_counter()
        payouts.approve_milestone(seat.uow(), m_id)
        samples.append(time.perf_counter() - start)
    return samples


def approval_run(url: str, contract_id: int, ids: list[int], seats: int) -> list[float]:
    active = [Seat(url, f"seat{i}") for i in range(1, seats + 1)]
    stop = threading.Event()
    threads = []
    for seat in active:  # each seat's screen re-reads the timeline, bursts coalesced
        seat.listen()    # like ui/live.py does (COALESCE_MS)

        def screen(s=seat) -> None:
            while not stop.is_set():
                if s.changed.wait(0.2):
                    stop.wait(COALESCE_MS / 1000)
                    s.changed.clear()
                    s.read.milestone_page(contract_id)
        thread = threading.Thread(target=screen, daemon=True)
        thread.start()
        threads.append(thread)
    for index, seat in enumerate(active[1:], start=1):
        own = jobs.add_milestone(seat.uow(), contract_id,
                                 MilestoneDraft(f"busy {index}", Money(10_000)))

        def busy(s=seat, m_id=own) -> None:
            k = 0
            while not stop.is_set():
                k += 1
                jobs.edit_milestone(s.uow(), m_id, MilestoneDraft(f"busy {k}",
                                                                   Money(10_000 + k)))
                stop.wait(0.02)
        thread = threading.Thread(target=busy, daemon=True)
        thread.start()
        threads.append(thread)
    try:
        return approvals(active[0], ids)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        for seat in active:
            seat.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    schema = f"otd_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.url}?options=-csearch_path%3D{schema}"
    try:
        contract_id, ids = setup(url, 1 + 2 * N)
        a, b = Seat(url, "seat1"), Seat(url, "seat2")
        b.listen()
        print(f"Team live updates ({date.today()}, PostgreSQL, {N} changes each)")
        print("Seat A's change visible on seat B:")
        floor = show("baseline: bare LISTEN/NOTIFY round trip", bare_notify(url))
        poll = show("baseline: B polls its read side (tight loop)",
                    visible_by_polling(a, b, ids[0]))
        feed = show("change feed: A saves, B is told and re-reads", visible_with_feed(a, b,
                                                                                    ids[0]))
        a.close()
        b.close()
        print(f"  ratio feed / polling: median {feed[0] / poll[0]:.2f}, "
              f"p95 {feed[1] / poll[1]:.2f}")
        print(f"  ratio feed / bare notify: median {feed[0] / floor[0]:.2f}")
        first, second = ids[1:1 + N // 2], ids[1 + N // 2:1 + N]
        pending_approval(url, first + second)
        print(f"Approval latency ({N // 2} approvals each):")
        one = show("1 seat open", approval_run(url, contract_id, first, 1))
        five = show("5 seats open (5 listeners, 4 editing)",
                    approval_run(url, contract_id, second, 5))
        print(f"  ratio 5 seats / 1 seat: median {five[0] / one[0]:.2f}, "
              f"p95 {five[1] / one[1]:.2f}")
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
