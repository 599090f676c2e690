"""Invoice exports: real PDFs (poppler), bulk export in worker processes, cancel and disk
errors, CSV for accountants, gapless numbering under concurrency, the Reports read model."""
from __future__ import annotations

import csv
import errno
import io
import os
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from opentrain_desk.domain.invoices import BillingType, InvoiceKind, InvoiceParty
from opentrain_desk.domain.milestones import MilestoneDraft, PayoutStatus
from opentrain_desk.domain.money import Money
from opentrain_desk.persistence import database
from opentrain_desk.persistence import reports_queries as rq
from opentrain_desk.persistence.orm import invoices, milestones
from opentrain_desk.reports import exports, pdf_bundle
from opentrain_desk.reports.invoice_pdf import render_invoice_pdf
from opentrain_desk.sandbox.demo import advance_locally
from opentrain_desk.services import invoicing, jobs, payouts
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from tests.integration.test_invoice_pdf import _run, pdf_text
from tests.integration.test_payouts import funded_and_submitted, ready_trainer, worker

ROOT = Path(__file__).resolve().parents[2]


# -- helpers -----------------------------------------------------------------------------------

def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def issue(engine, day: date, kind=InvoiceKind.EMPLOYER_FUNDING, *, amount=123_450,
          project="Code review RLHF", description="Milestone funding: Batch 1",
          bill_to="Brightline Talent Agency", status="Paid",
          billing=BillingType.MILESTONE) -> str:
    """One invoice issued through the real service, dated ``day`` (UTC)."""
    factory = UnitOfWorkFactory(engine, "owner@agency", clock=lambda: at(day))
    with factory() as uow:
        number = invoicing.issue(uow, kind, bill_to=InvoiceParty(bill_to, (), None),
                                 project=project, description=description,
                                 amount_cents=amount, payment_status=status,
                                 billing_type=billing, refs=(("Charge", "ch_123"),))
        uow.commit()
    return number


def ids_of(engine, *numbers: str) -> list[int]:
    with engine.connect() as conn:
        found = dict(conn.execute(sa.select(invoices.c.number, invoices.c.id)
                                  .where(invoices.c.number.in_(numbers))).all())
    return [found[n] for n in numbers]


def bulk_invoices(engine, n: int, day=date(2026, 3, 5)) -> list[int]:
    """``n`` EMP invoices by direct insert (fast), numbered 1..n."""
    now = at(day)
    party = '{"address_lines": [], "email": null, "name": "Acme Labs", "tax_id": null}'
    with engine.begin() as conn:
        conn.execute(invoices.insert(), [dict(
            number=f"EMP-2026-{i:06d}", series="EMP-2026", seq=i, kind="EMP",
            billing_type="Milestone", issue_date=day, issuer=party, bill_to=party,
            project_name="Bulk project", description=f"Milestone funding: Batch {i}",
            amount_cents=10_000 + i, currency="USD", payment_status="Paid", stripe_refs="[]",
            created_at=now) for i in range(1, n + 1)])
        return list(conn.scalars(sa.select(invoices.c.id).order_by(invoices.c.seq)))


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture
def out(tmp_path) -> Path:
    """An empty folder to export into (``tmp_path`` also holds the workspace database)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# -- real invoices from the money events, as PDFs ----------------------------------------------

def test_funding_and_approval_invoices_export_as_real_pdfs(factory, gateway, sandbox, out):
    m1, m2 = funded_and_submitted(factory, gateway, n=2)
    ready_trainer(factory, gateway, sandbox, m1)
    payouts.approve_milestone(factory(), m1)
    worker(factory, gateway).run_once()
    engine = factory.engine
    rows = rq.list_invoices(engine, sort="number", descending=False)
    assert [r.number[:8] for r in rows] == ["EMP-" + str(rows[0].issue_date.year)] * 2 + [
        "PAY-" + str(rows[0].issue_date.year)]
    assert [r.bill_to_name for r in rows][2] == "Ana Lima"

    target = out / "invoices.zip"
    result = exports.export_invoice_pdfs(engine, [r.id for r in rows], target, as_zip=True,
                                         processes=2, chunk_size=1)
    assert result.processes >= 1 and result.count == 3
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == [r.filename for r in rows]
        assert archive.testzip() is None
        for row in rows:
            path = out / row.filename
            path.write_bytes(archive.read(row.filename))
            text = pdf_text(path)
            assert row.number in text and "$1,250.00" in text, text
            assert row.description in text
    pay = out / rows[2].filename
    assert "PAYEE" in pdf_text(pay) and "Paid out" in pdf_text(pay)

    # one page rendered to PNG proves the PDF draws (not just parses)
    _run("pdftoppm", "-png", "-r", "40", "-singlefile", pay, out / "page")
    with Image.open(out / "page.png") as image:
        assert image.size == (340, 440)  # Letter at 40 dpi
        dark = sum(image.convert("L").histogram()[:128])
        assert dark > 500, "the rendered page is blank"


def test_bulk_export_in_worker_processes_matches_single_renders(factory, out):
    ids = bulk_invoices(factory.engine, 40)
    seen = []
    result = exports.export_invoice_pdfs(factory.engine, ids, out, as_zip=False,
                                         processes=2, chunk_size=4,
                                         progress=lambda done, total: seen.append((done, total)))
    assert result.processes == 2, "both worker processes rendered"
    assert all(rss > 0 for rss in result.worker_peak_rss.values())
    assert listing(out) == {f"EMP-2026-{i:06d}.pdf" for i in range(1, 41)}
    assert seen[-1] == (40, 40) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    doc = invoicing.document(factory, ids[6])
    assert (out / "EMP-2026-000007.pdf").read_bytes() == render_invoice_pdf(doc)


def test_zip_holds_exactly_the_selected_invoices(factory, out):
    ids = bulk_invoices(factory.engine, 12)
    chosen = [ids[10], ids[2], ids[5], ids[2]]  # order kept, duplicate once
    target = out / "March.zip"
    result = exports.export_invoice_pdfs(factory.engine, chosen, target, as_zip=True)
    assert result.processes == 0  # a handful renders in the calling thread
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["EMP-2026-000011.pdf", "EMP-2026-000003.pdf",
                                      "EMP-2026-000006.pdf"]
        for name in archive.namelist():
            assert archive.read(name).startswith(b"%PDF-")
    assert listing(out) == {"March.zip"}


@pytest.mark.parametrize("as_zip", [True, False])
def test_cancel_mid_export_leaves_no_partial_files(factory, out, as_zip):
    ids = bulk_invoices(factory.engine, 120)
    (out / "keep.txt").write_text("mine")
    cancel, progress = threading.Event(), []

    def on_progress(done, total):
        progress.append(done)
        if done >= 8:
            cancel.set()
    target = out / "all.zip" if as_zip else out
    with pytest.raises(exports.ExportCancelled, match="nothing was written"):
        exports.export_invoice_pdfs(factory.engine, ids, target, as_zip=as_zip, processes=2,
                                    chunk_size=4, progress=on_progress, cancel=cancel)
    assert 8 <= progress[-1] < 120
    assert listing(out) == {"keep.txt"}, "no PDFs, no ZIP, no temporary files"


def test_unwritable_folder_is_a_clear_error_and_nothing_is_lost(factory, out, monkeypatch):
    ids = bulk_invoices(factory.engine, 3)
    folder = out / "locked"
    folder.mkdir()
    (folder / "EMP-2026-000001.pdf").write_bytes(b"earlier copy")
    folder.chmod(0o555)

    def denied(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")
    try:
        if os.geteuid() == 0:  # root ignores the mode bits: deny as the OS would
            monkeypatch.setattr(pdf_bundle.tempfile, "mkdtemp", denied)
            monkeypatch.setattr(pdf_bundle.tempfile, "mkstemp", denied)
        for as_zip, target in ((False, folder), (True, folder / "all.zip")):
            with pytest.raises(exports.ExportError) as error:
                exports.export_invoice_pdfs(factory.engine, ids, target, as_zip=as_zip)
            assert error.value.errno == errno.EACCES
            assert str(error.value) == (f"You do not have permission to write to “{folder}”. "
                                        "Nothing was written; choose another folder.")
        with pytest.raises(exports.ExportError, match="permission"):
            exports.write_invoices_csv([], folder / "x.csv")
    finally:
        folder.chmod(0o755)
    assert listing(folder) == {"EMP-2026-000001.pdf"}
    assert (folder / "EMP-2026-000001.pdf").read_bytes() == b"earlier copy"
    with pytest.raises(exports.ExportError, match="does not exist"):
        exports.export_invoice_pdfs(factory.engine, ids, out / "gone", as_zip=False)


def test_full_disk_mid_export_keeps_the_old_files(factory, out, monkeypatch):
    ids = bulk_invoices(factory.engine, 10)
    old_zip = out / "all.zip"
    old_zip.write_bytes(b"last month's export")
    real_write = pdf_bundle._write_file
    calls = {"n": 0}

    def fills_up(path, data):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)
    monkeypatch.setattr(pdf_bundle, "_write_file", fills_up)
    with pytest.raises(exports.ExportError, match="The disk is full") as error:
        exports.export_invoice_pdfs(factory.engine, ids, out, as_zip=False)
    assert error.value.errno == errno.ENOSPC and "Nothing was written" in str(error.value)
    assert listing(out) == {"all.zip"}

    real_writestr = zipfile.ZipFile.writestr

    def zip_fills_up(self, info, data, *args, **kwargs):
        if len(self.namelist()) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_writestr(self, info, data, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", zip_fills_up)
    with pytest.raises(exports.ExportError, match="The disk is full"):
        exports.export_invoice_pdfs(factory.engine, ids, old_zip, as_zip=True)
    assert listing(out) == {"all.zip"}
    assert old_zip.read_bytes() == b"last month's export"


# -- CSV ---------------------------------------------------------------------------------------

def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_invoice_csv_is_plain_iso_utf8_and_neutralises_formulas(factory, out):
    engine = factory.engine
    issue(engine, date(2026, 3, 5), project="=HYPERLINK(\"http://x\",\"click\")",
          description="+1-555-0100 call", bill_to="@SUM(A1:A9)", amount=123_450)
    issue(engine, date(2026, 3, 6), InvoiceKind.TRAINER_PAYOUT, project="-2+3",
          description="\tTabbed", bill_to="Zoë Müller", amount=5, status="Released")
    issue(engine, date(2026, 3, 7), project="Plain, \"quoted\"\nproject",
          description="\rcarriage", bill_to="José", amount=100_000_00)
    path = out / "invoices.csv"
    count = exports.export_invoices_csv(engine, rq.InvoiceFilters(), path, sort="date",
                                        descending=False)
    assert count == 3
    header, *rows = read_csv(path)
    assert header == list(exports.INVOICE_CSV_HEADER)
    first, second, third = rows
    assert first[:8] == ["EMP-2026-000001", "2026-03-05", "Employer funding", "Milestone",
                         "'=HYPERLINK(\"http://x\",\"click\")", "'+1-555-0100 call",
                         "'@SUM(A1:A9)", "1234.50"]
    assert first[8:] == ["USD", "Paid", "Charge: ch_123"]
    assert second[:8] == ["PAY-2026-000001", "2026-03-06", "Trainer payout", "Milestone",
                          "'-2+3", "'\tTabbed", "Zoë Müller", "0.05"]
    assert third[4:8] == ["Plain, \"quoted\"\nproject", "'\rcarriage", "José", "100000.00"]
    assert b"\r\n" in path.read_bytes()
    assert list(out.iterdir()) == [path], "no temporary file left behind"


def test_neutralise_only_touches_dangerous_starts():
    assert [exports.neutralise(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx", "＝1",
                                            "a=1", "1234.50", "", None, "José")] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "'＝1", "a=1", "1234.50", "", "", "José"]


def test_payment_history_csv(factory, gateway, sandbox, out):
    m1, m2 = funded_and_submitted(factory, gateway, n=2)
    ready_trainer(factory, gateway, sandbox, m1)
    payouts.approve_milestone(factory(), m1)
    worker(factory, gateway).run_once()
    path = out / "history.csv"
    assert exports.export_history_csv(factory.engine, path) == 2
    header, *rows = read_csv(path)
    assert header == list(exports.HISTORY_CSV_HEADER)
    by_title = {row[0]: row for row in rows}
    paid, funded = by_title["Batch 1"], by_title["Batch 2"]
    today = datetime.now().date().isoformat()
    assert paid[1:7] == ["Code review RLHF", "Ana Lima", "1250.00", "USD", today, today]
    assert paid[8:10] == ["Paid", "Paid out"] and paid[10].startswith("pi_")
    assert paid[12].startswith("tr_")
    assert funded[6] == "" and funded[8:10] == ["Pending approval", "—"]
    none = out / "none.csv"
    assert exports.export_history_csv(factory.engine, none, job_text="no such job") == 0
    assert read_csv(none) == [list(exports.HISTORY_CSV_HEADER)]


# -- gapless numbering under concurrency -------------------------------------------------------

def _issue_many(url: str, n: int, start: threading.Event | None = None, tag: str = "") -> None:
    engine = database.create_engine(url)
    factory = UnitOfWorkFactory(engine, "owner@agency")
    if start is not None:
        start.wait()
    for i in range(n):
        with factory() as uow:
            invoicing.issue(uow, InvoiceKind.EMPLOYER_FUNDING,
                            bill_to=InvoiceParty("Acme Labs"), project="P",
                            description=f"{tag} funding {i}", amount_cents=100 + i,
                            payment_status="Paid")
            uow.commit()
        time.sleep(0.003)  # let the other issuer in (SQLite's busy wait is not fair)
    engine.dispose()


def _sequences(engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(conn.scalars(sa.select(invoices.c.seq)))


def _interleaved(engine) -> bool:
    """Did both issuers really run at the same time (not one after the other)?"""
    with engine.connect() as conn:
        tags = [d.split()[0] for d in conn.scalars(
            sa.select(invoices.c.description).order_by(invoices.c.seq))]
    return sum(a != b for a, b in zip(tags[:-1], tags[1:], strict=True)) >= 10


def test_numbering_is_gapless_under_two_threads(factory, sqlite_url):
    start = threading.Event()
    threads = [threading.Thread(target=_issue_many, args=(sqlite_url, 50, start, tag))
               for tag in ("A", "B")]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(60)
    assert _sequences(factory.engine) == list(range(1, 101))
    assert _interleaved(factory.engine)


PROCESS_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from tests.integration.test_exports import _issue_many
    go = Path({go!r})
    go.with_name("ready-" + sys.argv[1]).touch()
    while not go.exists():
        time.sleep(0.005)
    _issue_many({url!r}, 50, tag=sys.argv[1])
""")


def test_numbering_is_gapless_under_two_processes(factory, sqlite_url, tmp_path):
    go = tmp_path / "go"
    script = PROCESS_SCRIPT.format(root=str(ROOT), go=str(go), url=sqlite_url)
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], stderr=subprocess.PIPE,
                              text=True) for tag in ("A", "B")]
    deadline = time.monotonic() + 60  # both imported and waiting: start them together
    while not all((tmp_path / f"ready-{tag}").exists() for tag in ("A", "B")):
        assert time.monotonic() < deadline, "the issuing processes did not start"
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    numbers = _sequences(factory.engine)
    assert numbers == list(range(1, 101)), "no gaps, no duplicates"
    assert _interleaved(factory.engine)
    year = datetime.now(timezone.utc).year
    with factory.engine.connect() as conn:
        names = set(conn.scalars(sa.select(invoices.c.number)))
    assert names == {f"EMP-{year}-{i:06d}" for i in range(1, 101)}


# -- the Reports read model (SQLite and PostgreSQL) --------------------------------------------

@pytest.fixture
def report_engine(migrated_db_url):
    engine = database.create_engine(migrated_db_url)
    database.migrate(engine)
    yield engine
    engine.dispose()


def test_invoice_list_filters_sorts_and_pages_in_sql(report_engine):
    engine = report_engine
    issue(engine, date(2026, 2, 27), amount=500, project="Alpha", bill_to="Zoë Müller")
    issue(engine, date(2026, 3, 1), amount=300, project="Beta 100%", description="x_y")
    issue(engine, date(2026, 3, 31), InvoiceKind.TRAINER_PAYOUT, amount=900,
          project="Gamma", bill_to="Kenji Watanabe", status="Released")
    issue(engine, date(2026, 3, 15), InvoiceKind.SUBSCRIPTION, amount=4900,
          project="Team plan", status="Paid", billing=BillingType.SUBSCRIPTION)
    issue(engine, date(2026, 4, 1), amount=700, project="Delta")

    def numbers(filters=rq.InvoiceFilters(), **kw):
        return [r.number for r in rq.list_invoices(engine, filters, **kw)]
    march = rq.InvoiceFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert numbers(march, sort="date", descending=False) == [
        "EMP-2026-000002", "SUB-2026-000001", "PAY-2026-000001"]
    assert rq.invoice_totals(engine, march) == rq.InvoiceTotals(3, 300 + 900 + 4900)
    assert numbers(march, sort="amount") == ["SUB-2026-000001", "PAY-2026-000001",
                                             "EMP-2026-000002"]
    assert numbers(rq.InvoiceFilters(billing_type="Subscription")) == ["SUB-2026-000001"]
    assert numbers(rq.InvoiceFilters(payment_status="Released")) == ["PAY-2026-000001"]
    assert numbers(rq.InvoiceFilters(text="kenji")) == ["PAY-2026-000001"]    # payee name
    assert numbers(rq.InvoiceFilters(text="Zoë")) == ["EMP-2026-000001"]       # bill-to
    assert numbers(rq.InvoiceFilters(text="100%")) == ["EMP-2026-000002"]      # LIKE escaped
    assert numbers(rq.InvoiceFilters(text="x_y")) == ["EMP-2026-000002"]
    assert numbers(rq.InvoiceFilters(text="sub-2026")) == ["SUB-2026-000001"]  # number
    assert numbers(sort="project", descending=False)[:2] == ["EMP-2026-000001",
                                                             "EMP-2026-000002"]
    paged, after = [], None
    for _ in range(3):  # keyset: each page starts after the last row of the one before
        page = rq.list_invoices(engine, sort="number", descending=False, after=after, limit=2)
        paged.append([r.number for r in page])
        after = page[-1]
    assert sum(paged, []) == numbers(sort="number", descending=False)
    assert [len(p) for p in paged] == [2, 2, 1]
    assert rq.count_invoices(engine) == 5
    assert rq.payment_statuses(engine) == ["Paid", "Released"]
    with pytest.raises(ValueError, match="cannot sort"):
        rq.list_invoices(engine, sort="amount_cents; DROP TABLE invoices")


def milestone_in(engine, job_id, n, day, cents, target):
    """A contract whose one milestone was walked to ``target`` on ``day`` (UTC)."""
    factory = UnitOfWorkFactory(engine, "owner@agency", clock=lambda: at(day, 23 if
                                                                        day.day == 31 else 12))
    hired = jobs.hire_trainer(factory(), job_id, f"Trainer {n}", f"t{n}@example.com",
                              MilestoneDraft(f"Batch {n}", Money(cents)))
    advance_locally(factory, hired.milestone_id, target)


def test_monthly_totals_funded_from_emp_invoices_paid_out_from_payouts(report_engine):
    engine = report_engine
    job_id = jobs.create_job(UnitOfWorkFactory(engine, "owner@agency")(), "RLHF")
    milestone_in(engine, job_id, 1, date(2026, 1, 20), 100_00, "PAID")
    milestone_in(engine, job_id, 2, date(2026, 3, 2), 250_00, "ACTIVE_FUNDED")
    milestone_in(engine, job_id, 3, date(2026, 3, 10), 40_00, "PAID")
    milestone_in(engine, job_id, 4, date(2026, 3, 31), 10_00, "PAID")        # 23:00 UTC
    milestone_in(engine, job_id, 5, date(2026, 3, 12), 70_00, "PENDING_APPROVAL")
    milestone_in(engine, job_id, 6, date(2026, 2, 1), 5_00, "FUNDING")       # no money yet
    issue(engine, date(2026, 3, 3), InvoiceKind.TRAINER_PAYOUT, amount=999_00)  # not a payout
    issue(engine, date(2026, 3, 3), InvoiceKind.SUBSCRIPTION, amount=49_00)
    with engine.begin() as conn:  # released, but the trainer's payout setup is incomplete
        conn.execute(milestones.update().where(milestones.c.title == "Batch 3")
                     .values(payout_status=PayoutStatus.PENDING_SETUP))
    totals = rq.monthly_totals(engine, date(2026, 1, 1), date(2026, 4, 30))
    assert [(t.label, t.funded_cents, t.paid_out_cents) for t in totals] == [
        ("Jan 2026", 100_00, 100_00), ("Feb 2026", 0, 0), ("Mar 2026", 370_00, 10_00),
        ("Apr 2026", 0, 0)]
    year = rq.monthly_totals(engine, today=date(2026, 3, 15))
    assert len(year) == 12 and year[0].label == "Apr 2025" and year[-1].funded_cents == 370_00
    assert rq.monthly_totals(engine, date(2026, 5, 1), date(2026, 4, 1)) == []


def test_pdf_filenames_are_the_invoice_numbers():
    assert exports.pdf_filename("EMP-2026-000123") == "EMP-2026-000123.pdf"
    for bad in ("../etc/passwd", "EMP/2026", ""):
        with pytest.raises(ValueError):
            exports.pdf_filename(bad)
