#!/usr/bin/env python3
"""The chaos run of tests/integration/test_chaos.py, longer, with a fault-free baseline.

For each database (SQLite file; PostgreSQL at 127.0.0.1:5432 when reachable) it runs the
same random agency twice in one process: once with no faults and no killed workers (the
baseline), once with faults before and after execution and SIGKILLed workers. Each run
ends by reconciling every charge, transfer, invoice and audit entry with the emulator
(an AssertionError stops the benchmark). Prints money movements settled per second of
each run and the ratio chaos / baseline.

    python benchmarks/chaos.py [--seconds 60] [--seed N] [--runs 1]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from opentrain_desk.sandbox.emulator import SandboxStripe  # noqa: E402
from tests.integration.test_chaos import run_chaos  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def databases(tmp: Path):
    yield "sqlite", lambda tag: f"sqlite:///{(tmp / f'{tag}.sqlite').as_posix()}", None
    try:
        admin = sa.create_engine(PG)
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - PostgreSQL is optional here
        print(f"(PostgreSQL skipped: {type(exc).__name__})")
        return
    schemas = []

    def url(tag: str) -> str:
        schema = f"otd_chaos_{tag}_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return f"{PG}?options=-csearch_path%3D{schema}"

    yield "postgres", url, None
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with SandboxStripe() as sandbox, tempfile.TemporaryDirectory() as tmp:
        for kind, url, _ in databases(Path(tmp)):
            for run in range(args.runs):
                seed = args.seed if args.seed is not None else random.randrange(1 << 30)
                base = run_chaos(url(f"b{run}"), sandbox, Path(tmp), args.seconds, seed,
                                 chaos=False)
                hard = run_chaos(url(f"c{run}"), sandbox, Path(tmp), args.seconds, seed)
                base_rate = base["money_movements"] / base["seconds"]
                hard_rate = hard["money_movements"] / hard["seconds"]
                print(f"{kind} seed {seed}: baseline {base['money_movements']} money "
                      f"movements in {base['seconds']} s ({base_rate:.1f}/s); chaos "
                      f"{hard['money_movements']} in {hard['seconds']} s ({hard_rate:.1f}/s) "
                      f"with {hard['faults']} faults and {hard['kills']} killed workers; "
                      f"ratio {hard_rate / base_rate:.2f}; books equal Stripe in both")


if __name__ == "__main__":
    main()
