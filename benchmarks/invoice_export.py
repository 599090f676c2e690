#!/usr/bin/env python3
"""Export 10,000 invoices as PDFs: the app's bulk export vs. a bare reportlab loop.

Both render the same issued invoices from one temporary SQLite workspace, in the same run:
- baseline: a plain single-process loop — read the rows, build each ``InvoiceDocument`` and
  call the reportlab renderer (``render_invoice_pdf``), writing each PDF with a bare
  ``open().write()`` (no temp file, no fsync, no progress, no cancel);
- app: ``reports.exports.export_invoice_pdfs`` exactly as the Reports view calls it
  (worker processes, one per usable core, chunked; atomic ZIP / atomic files with fsync,
  progress callback and cancel checks), into one ZIP and into a folder.
Prints PDFs/s of each, the ratio app / bare (target >= 0.8), the worker processes used
(target: all cores, i.e. both on a two-core machine) and peak RSS of the parent and of
each worker (target < 300 MB).

    python benchmarks/invoice_export.py [--n 10000] [--mode both|zip|folder]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from opentrain_desk.persistence import database  # noqa: E402
from opentrain_desk.persistence.orm import invoice_counters, invoices  # noqa: E402
from opentrain_desk.persistence.reports_queries import invoice_records  # noqa: E402
from opentrain_desk.reports import exports  # noqa: E402
from opentrain_desk.reports.invoice_pdf import render_invoice_pdf  # noqa: E402
from opentrain_desk.services.invoicing import document_from_row  # noqa: E402

MB = 1024 * 1024
ISSUER = {"name": "Brightline Talent Agency LLC",
          "address_lines": ["500 Market Street, Suite 1200", "San Francisco, CA 94105"],
          "email": "billing@brightline.example", "tax_id": "EIN 12-3456789"}
TRAINERS = [("Zoë Müller-Łukasiewicz", "zoe@example.com"), ("Ana Lima", "ana@example.com"),
            ("Kenji Watanabe", "kenji@example.com"), ("José Núñez", "jose@example.com")]
PROJECTS = ["LLM Evaluation — Spanish", "Code review RLHF", "Preference pairs: medical",
            "Math reasoning traces", "Safety red-teaming <b>&</b>"]


def party(name: str, email: str | None, lines=(), tax_id=None) -> str:
    return json.dumps({"name": name, "address_lines": list(lines), "email": email,
                       "tax_id": tax_id}, ensure_ascii=False, sort_keys=True)


def workspace(path: Path, n: int) -> sa.Engine:
    """``n`` issued invoices (EMP and PAY, as funding/approval issue them), by direct insert."""
    engine = database.create_engine(f"sqlite:///{path.as_posix()}")
    database.migrate(engine)
    issuer = party(ISSUER["name"], ISSUER["email"], ISSUER["address_lines"], ISSUER["tax_id"])
    start = date(2026, 1, 2)
    rows, seqs = [], {"EMP": 0, "PAY": 0}
    for i in range(n):
        kind = "EMP" if i % 3 else "PAY"
        seqs[kind] += 1
        trainer, email = TRAINERS[i % len(TRAINERS)]
        day = start + timedelta(days=(i * 300) // max(n, 1))
        is_pay = kind == "PAY"
        rows.append(dict(
            number=f"{kind}-2026-{seqs[kind]:06d}", series=f"{kind}-2026", seq=seqs[kind],
            kind=kind, billing_type="Milestone", issue_date=day, issuer=issuer,
            bill_to=party(trainer, email) if is_pay else issuer,
            project_name=PROJECTS[i % len(PROJECTS)],
            description=(f"Milestone payout: Batch {i}" if is_pay else
                         f"Milestone funding: Batch {i} — trainer {trainer}"),
            amount_cents=10_000 + (i * 7919) % 2_000_000, currency="USD",
            payment_status="Released" if is_pay else "Paid",
            stripe_refs=json.dumps([["PaymentIntent", f"pi_3Pq{i:020d}"],
                                    ["Charge", f"ch_3Pq{i:020d}"]]),
            created_at=datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)))
    with engine.begin() as conn:
        for chunk in range(0, len(rows), 2000):
            conn.execute(invoices.insert(), rows[chunk:chunk + 2000])
        conn.execute(invoice_counters.insert(), [{"series": f"{k}-2026", "last_seq": v}
                                                 for k, v in seqs.items()])
    return engine


def bare_loop(engine: sa.Engine, ids: list[int], folder: Path) -> float:
    started = time.perf_counter()
    for start in range(0, len(ids), 500):
        for record in invoice_records(engine, ids[start:start + 500]):
            doc = document_from_row(record)
            (folder / f"{doc.number}.pdf").write_bytes(render_invoice_pdf(doc))
    return time.perf_counter() - started


def app_export(engine: sa.Engine, ids: list[int], target: Path,
               as_zip: bool) -> exports.ExportResult:
    last = [0.0]

    def progress(done: int, total: int) -> None:  # what the progress dialog receives
        now = time.perf_counter()
        if now - last[0] > 5 or done == total:
            last[0] = now
            print(f"    {done:,}/{total:,}", flush=True)
    return exports.export_invoice_pdfs(engine, ids, target, as_zip=as_zip, progress=progress)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="invoices (default 10,000)")
    parser.add_argument("--mode", choices=("both", "zip", "folder"), default="both")
    args = parser.parse_args()
    modes = {"both": (True, False), "zip": (True,), "folder": (False,)}[args.mode]
    with tempfile.TemporaryDirectory(prefix="otd-bench-") as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        engine = workspace(tmp_path / "bench.sqlite", args.n)
        with engine.connect() as conn:
            ids = list(conn.scalars(sa.select(invoices.c.id).order_by(invoices.c.id)))
        print(f"{args.n:,} invoices issued into a temporary SQLite workspace in "
              f"{time.perf_counter() - t0:.1f} s; usable cores: {exports.usable_cpus()}")

        results = {}
        for as_zip in modes:
            label = "app → ZIP" if as_zip else "app → folder"
            target = tmp_path / "export.zip" if as_zip else tmp_path / "folder"
            if not as_zip:
                target.mkdir()
            print(f"  {label} …", flush=True)
            result = app_export(engine, ids, target, as_zip)
            assert result.count == len(ids)
            results[label] = result
        parent_peak_app = exports.peak_rss()

        bare_dir = tmp_path / "bare"
        bare_dir.mkdir()
        print("  bare reportlab loop (single process) …", flush=True)
        bare_seconds = bare_loop(engine, ids, bare_dir)
        parent_peak_all = exports.peak_rss()
        children_peak = exports.peak_rss(children=True)

        if True in modes:  # same content, same bytes: the export really rendered the invoices
            sample = sorted(p.name for p in bare_dir.iterdir())[len(ids) // 2]
            with zipfile.ZipFile(tmp_path / "export.zip") as archive:
                assert len(archive.namelist()) == len(ids)
                assert archive.read(sample) == (bare_dir / sample).read_bytes()

        bare_rate = len(ids) / bare_seconds
        print()
        print(f"bare reportlab loop: {bare_rate:8.1f} PDFs/s  ({bare_seconds:.1f} s, 1 process)")
        for label, result in results.items():
            rate = result.count / result.seconds
            peaks = ", ".join(f"{rss / MB:.0f} MB" for rss in result.worker_peak_rss.values())
            print(f"{label:19}: {rate:8.1f} PDFs/s  ({result.seconds:.1f} s)  ratio "
                  f"{rate / bare_rate:.2f} (target >= 0.8)  worker processes: "
                  f"{result.processes} of {exports.usable_cpus()} cores  worker peak RSS: "
                  f"{peaks}")
        worst_worker = max((max(r.worker_peak_rss.values(), default=0)
                            for r in results.values()), default=0)
        print(f"peak RSS: parent {parent_peak_app / MB:.0f} MB during the app exports "
              f"({parent_peak_all / MB:.0f} MB after the in-process baseline too); "
              f"largest worker {worst_worker / MB:.0f} MB (children max "
              f"{children_peak / MB:.0f} MB); target < 300 MB")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
