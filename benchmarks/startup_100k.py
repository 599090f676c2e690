#!/usr/bin/env python3
"""Start-up with a 100,000-milestone workspace vs. an empty one, in one run.

Generates two SQLite workspaces: the baseline (empty but for one job, one contract and
one milestone, so that there is a timeline to open) and 100,000 milestones over 2,000
contracts (the largest has 2,000),
then launches the real app window in a fresh child process for each, alternating,
REPEATS times. Each child reports: process start -> main window shown with its first
page of jobs; window shown -> the largest contract's timeline showing its first rows;
and its peak RSS. Prints medians, the difference and the ratio against the empty baseline.

    python benchmarks/startup_100k.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MILESTONES, CONTRACTS, JOBS, LARGEST = 100_000, 2_000, 400, 2_000


def generate(url: str, milestones: int) -> None:
    from opentrain_desk.domain.milestones import MilestoneStatus, PayoutStatus
    from opentrain_desk.persistence import database
    from opentrain_desk.persistence.orm import contracts, jobs, trainers
    from opentrain_desk.persistence.orm import milestones as ms

    engine = database.create_engine(url)
    database.migrate(engine)
    rng = random.Random(42)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    states = list(MilestoneStatus)
    # contract sizes: one big contract, the rest spread around the mean
    n_contracts, n_jobs = (CONTRACTS, JOBS) if milestones > 1 else (1, 1)
    sizes = [min(LARGEST, milestones)] + [0] * (n_contracts - 1)
    for _ in range(milestones - sizes[0]):
        sizes[rng.randrange(1, CONTRACTS)] += 1
    with engine.begin() as conn:
        conn.execute(jobs.insert(), [dict(id=j, title=f"Project {j:04d} — RLHF batch",
                                          description="", archived=False, created_at=now)
                                     for j in range(1, n_jobs + 1)])
        conn.execute(trainers.insert(), [dict(id=t, name=f"Trainer {t:04d}",
                                              email=f"t{t}@example.com", created_at=now)
                                         for t in range(1, n_contracts + 1)])
        conn.execute(contracts.insert(), [dict(id=c, job_id=(c - 1) % n_jobs + 1, trainer_id=c,
                                               hired_on=now.date(), created_at=now)
                                          for c in range(1, n_contracts + 1)])
        rows = []
        for contract_id, size in enumerate(sizes, start=1):
            for p in range(1, size + 1):
                status = states[rng.randrange(len(states))]
                rows.append(dict(contract_id=contract_id, position=p, title=f"Milestone {p}",
                                 description="", amount_cents=rng.randrange(5_000, 500_000),
                                 due_date=(now + timedelta(days=p % 90)).date(),
                                 status=status, payout_status=PayoutStatus.NOT_STARTED,
                                 status_note="", submission_note="", deliverable_url="",
                                 created_at=now, updated_at=now))
        conn.execute(ms.insert(), rows)
    engine.dispose()


def child(url: str, home: str) -> None:
    """Runs in a fresh process: open the real window and time it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from opentrain_desk.app import apply_style, build_window
    from opentrain_desk.config import Settings

    app = QApplication([])
    apply_style(app)
    window = build_window(Settings(home=Path(home), db_url=url, actor="bench"))
    window.show()
    page = window.jobs_page
    while page.model.rowCount() == 0 and (page.model.is_loading or page.model.total):
        app.processEvents()
    shown = time.perf_counter()
    contract_id, job_id = 1, 1  # generate() gives contract 1 (job 1) the most milestones
    page.open_job(job_id, contract_id)
    while True:
        app.processEvents()
        view = page.job_view.current_contract()
        if view is not None and view.contract.id == contract_id and view.model.rowCount():
            timeline_rows = view.model.rowCount()
            break
    opened = time.perf_counter()
    print(json.dumps({"window_ms": (shown - T0) * 1000, "timeline_ms": (opened - shown) * 1000,
                      "rows": timeline_rows, "peak_rss_mb": peak_rss_mb()}))
    window.ctx.db.shutdown()


def peak_rss_mb() -> float:
    from opentrain_desk.process_stats import peak_rss
    rss = peak_rss()
    return rss / (1024 * 1024) if rss else -1.0  # -1: not measured (Windows)


def run_child(url: str, home: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", url, home], capture_output=True,
                         text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        urls = {name: f"sqlite:///{(Path(tmp) / f'{name}.sqlite').as_posix()}"
                for name in ("baseline", "100k")}
        started = time.perf_counter()
        generate(urls["baseline"], 1)
        generate(urls["100k"], MILESTONES)
        print(f"generated {MILESTONES:,} milestones over {CONTRACTS:,} contracts in "
              f"{time.perf_counter() - started:.1f} s")
        results = {"baseline": [], "100k": []}
        for _ in range(args.repeats):
            for name, url in urls.items():
                results[name].append(run_child(url, tmp))
    med = {name: {k: statistics.median(r[k] for r in runs)
                  for k in ("window_ms", "timeline_ms", "peak_rss_mb")}
           for name, runs in results.items()}
    print(f"runs per workspace: {args.repeats} (medians)")
    for metric, label in (("window_ms", "process start -> window shown"),
                          ("timeline_ms", "open largest contract timeline")):
        base, big = med["baseline"][metric], med["100k"][metric]
        print(f"{label:32s} base {base:7.1f} ms | 100k {big:7.1f} ms | "
              f"+{big - base:6.1f} ms | ratio {big / base:.3f}")
    print(f"{'peak RSS':32s} base {med['baseline']['peak_rss_mb']:7.1f} MB | "
          f"100k {med['100k']['peak_rss_mb']:7.1f} MB | ratio "
          f"{med['100k']['peak_rss_mb'] / med['baseline']['peak_rss_mb']:.3f}")
    rows = results["100k"][0]["rows"]
    print(f"largest timeline: {LARGEST:,} milestones, {rows} rows loaded on open (paged)")


if __name__ == "__main__":
    main()
