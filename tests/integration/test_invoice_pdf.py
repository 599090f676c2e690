"""Render real invoice PDFs and inspect them with poppler (pdftotext, pdftoppm, ...)."""
from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from opentrain_desk.domain.invoices import BillingType, InvoiceDocument, InvoiceKind, InvoiceParty
from opentrain_desk.reports import invoice_pdf
from opentrain_desk.reports.invoice_pdf import render_invoice_pdf, write_invoice_pdf
from opentrain_desk.resources import resource_path

PAYEE = "Zoë Müller-Łukasiewicz"
PROJECT = "José Núñez — LLM Evaluation"
DESCRIPTION = "Milestone 2: annotate 4,000 preference pairs"
NASTY = "<b>bold</b> & <script>alert(1)</script>"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not installed; these tests need poppler-utils "
            "(apt-get install -y poppler-utils)."
        )
    return path


def _run(*args: str | Path) -> str:
    result = subprocess.run(
        [_tool(str(args[0])), *map(str, args[1:])],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def pdf_text(path: Path) -> str:
    """Text in content-stream order with whitespace collapsed (wrapped lines rejoin)."""
    return " ".join(_run("pdftotext", "-raw", "-enc", "UTF-8", path, "-").split())


def make_doc(**overrides) -> InvoiceDocument:
    fields = dict(
        number="EMP-2026-000123",
        issue_date=datetime.date(2026, 3, 5),
        billing_type=BillingType.MILESTONE,
        kind=InvoiceKind.EMPLOYER_FUNDING,
        issuer=InvoiceParty(
            "Brightline Talent Agency LLC",
            ("500 Market Street, Suite 1200", "San Francisco, CA 94105"),
            "billing@brightline.example",
            "EIN 12-3456789",
        ),
        bill_to=InvoiceParty(PAYEE, ("Calle de Alcalá 42", "28014 Madrid"), "zoe@example.com"),
        project_name=PROJECT,
        description=DESCRIPTION,
        amount_cents=123_450,
        payment_status="Paid",
        stripe_references=(
            ("PaymentIntent", "pi_3PqXyZ2eZvKYlo2C1a2b3c4d"),
            ("Charge", "ch_3PqXyZ2eZvKYlo2C0abc1234"),
        ),
    )
    fields.update(overrides)
    return InvoiceDocument(**fields)


def test_pdf_text_is_extractable(tmp_path):
    path = write_invoice_pdf(make_doc(), tmp_path / "invoice.pdf")
    text = pdf_text(path)
    for expected in (
        "INVOICE",
        "EMP-2026-000123",
        "$1,234.50",
        PROJECT,
        DESCRIPTION,
        PAYEE,
        "Calle de Alcalá 42",
        "Brightline Talent Agency LLC",
        "March 5, 2026",
        "Paid",
        "Milestone",
        "pi_3PqXyZ2eZvKYlo2C1a2b3c4d",
        "ch_3PqXyZ2eZvKYlo2C0abc1234",
        "Page 1 of 1",
    ):
        assert expected in text, f"{expected!r} missing from PDF text: {text}"
    assert "BILL TO" in text and "PAYEE" not in text


def test_one_page_with_embedded_unicode_fonts(tmp_path):
    path = write_invoice_pdf(make_doc(), tmp_path / "invoice.pdf")
    info = _run("pdfinfo", path)
    assert "Pages:           1" in info
    assert "Title:           Invoice EMP-2026-000123" in info
    assert "612 x 792 pts (letter)" in info
    fonts = _run("pdffonts", path).splitlines()[2:]
    assert fonts, "no fonts in the PDF"
    for line in fonts:
        assert "DejaVuSans" in line, f"unexpected font: {line}"
        assert " yes yes yes " in line, f"font not embedded as a Unicode subset: {line}"


def test_a4_page_size(tmp_path):
    path = write_invoice_pdf(make_doc(), tmp_path / "invoice.pdf", page_size="a4")
    assert "595.276 x 841.89 pts (A4)" in _run("pdfinfo", path)
    assert "$1,234.50" in pdf_text(path)
    with pytest.raises(ValueError):
        render_invoice_pdf(make_doc(), page_size="tabloid")


def test_payout_names_the_payee_with_accents(tmp_path):
    doc = make_doc(
        number="PAY-2026-000045",
        kind=InvoiceKind.TRAINER_PAYOUT,
        bill_to=InvoiceParty("José Núñez", ("Ñuñoa, Santiago",)),
        amount_cents=100_000_000,
        payment_status="Pending",
        stripe_references=(("Transfer", "tr_1Abc"),),
    )
    text = pdf_text(write_invoice_pdf(doc, tmp_path / "payout.pdf"))
    for expected in ("PAY-2026-000045", "PAYEE", "José Núñez", "Ñuñoa, Santiago",
                     "$1,000,000.00", "Pending", "Trainer payout", "tr_1Abc"):
        assert expected in text, f"{expected!r} missing from PDF text: {text}"


def test_user_text_is_escaped_not_interpreted(tmp_path):
    doc = make_doc(
        description=NASTY,
        project_name="R&D <i>Q1</i>",
        bill_to=InvoiceParty("Ann <u>&amp; Bob", ("<br/>Line & co",), "a&b@example.com"),
        issuer=InvoiceParty("Smith & Sons <Agency>", (), None, "<tax&id>"),
        payment_status="<font color='red'>Paid</font>",
        stripe_references=(("<ref>", "pi_<x>&y"),),
    )
    text = pdf_text(write_invoice_pdf(doc, tmp_path / "escaped.pdf"))
    for literal in (
        NASTY,
        "R&D <i>Q1</i>",
        "Ann <u>&amp; Bob",
        "<br/>Line & co",
        "a&b@example.com",
        "Smith & Sons <Agency>",
        "<tax&id>",
        "<font color='red'>Paid</font>",
        "pi_<x>&y",
    ):
        assert literal in text, f"{literal!r} not printed literally: {text}"


def test_multiline_description_keeps_its_lines(tmp_path):
    doc = make_doc(description="First line\nSecond line\r\nThird\tline\x00")
    raw = _run("pdftotext", "-raw", "-enc", "UTF-8", write_invoice_pdf(doc, tmp_path / "m.pdf"),
               "-")
    lines = [line.strip() for line in raw.splitlines()]
    assert "First line" in lines
    assert "Second line" in lines


def test_same_invoice_renders_identical_bytes(tmp_path):
    first = render_invoice_pdf(make_doc())
    second = render_invoice_pdf(make_doc())
    assert first.startswith(b"%PDF-") and first.rstrip().endswith(b"%%EOF")
    assert first == second
    a = write_invoice_pdf(make_doc(), tmp_path / "a.pdf").read_bytes()
    b = write_invoice_pdf(make_doc(), tmp_path / "b.pdf").read_bytes()
    assert a == b == first


def test_identical_bytes_across_processes(tmp_path):
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import test_invoice_pdf as t;"
        "sys.stdout.buffer.write(t.render_invoice_pdf(t.make_doc()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)],
        capture_output=True, check=True, timeout=120,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout
    assert out == render_invoice_pdf(make_doc())


def test_different_amount_gives_different_bytes(tmp_path):
    base = render_invoice_pdf(make_doc())
    other_doc = make_doc(amount_cents=123_451)
    other = render_invoice_pdf(other_doc)
    assert other != base
    text = pdf_text(write_invoice_pdf(other_doc, tmp_path / "other.pdf"))
    assert "$1,234.51" in text and "$1,234.50" not in text


def test_logo_is_embedded_and_a_broken_logo_is_skipped(tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (300, 100), (31, 78, 121)).save(logo)
    with_logo = write_invoice_pdf(make_doc(logo_path=logo), tmp_path / "logo.pdf")
    images = _run("pdfimages", "-list", with_logo).splitlines()[2:]
    assert len(images) == 1 and " 300   100 " in images[0]

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    for bad in (broken, tmp_path / "missing.png"):
        path = write_invoice_pdf(make_doc(logo_path=bad), tmp_path / "nologo.pdf")
        assert _run("pdfimages", "-list", path).splitlines()[2:] == []
        assert "EMP-2026-000123" in pdf_text(path)


def test_long_description_flows_onto_numbered_pages(tmp_path):
    doc = make_doc(description="Reviewed reasoning trace with rationale. " * 600)
    path = write_invoice_pdf(doc, tmp_path / "long.pdf")
    pages = int(next(line.split()[1] for line in _run("pdfinfo", path).splitlines()
                     if line.startswith("Pages:")))
    assert pages >= 2
    text = pdf_text(path)
    assert f"Page {pages} of {pages}" in text
    assert "$1,234.50" in text


def test_atomic_write_leaves_only_the_target(tmp_path):
    target = tmp_path / "invoice.pdf"
    assert write_invoice_pdf(make_doc(), target) == target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoice.pdf"]
    assert target.read_bytes() == render_invoice_pdf(make_doc())

    # Overwriting replaces the content and still leaves no temp files behind.
    write_invoice_pdf(make_doc(amount_cents=999), target)
    assert target.read_bytes() == render_invoice_pdf(make_doc(amount_cents=999))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoice.pdf"]


def test_write_goes_through_a_synced_temp_file_in_the_same_folder(tmp_path, monkeypatch):
    calls: list[tuple] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd):
        calls.append(("fsync", fd))
        return real_fsync(fd)

    def spy_replace(src, dst):
        calls.append(("replace", Path(src), Path(dst)))
        assert Path(src).read_bytes().startswith(b"%PDF-")  # complete before the rename
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    target = tmp_path / "invoice.pdf"
    write_invoice_pdf(make_doc(), target)

    names = [call[0] for call in calls]
    assert "replace" in names and "fsync" in names[: names.index("replace")]
    (_, src, dst) = calls[names.index("replace")]
    assert dst == target
    assert src.parent == target.parent and src != target
    assert not src.exists()


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_error_mid_write_leaves_no_file(tmp_path, monkeypatch, failing):
    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    target = tmp_path / "invoice.pdf"
    with pytest.raises(OSError, match="No space left"):
        write_invoice_pdf(make_doc(), target)
    assert list(tmp_path.iterdir()) == []


def test_error_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "invoice.pdf"
    write_invoice_pdf(make_doc(), target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        write_invoice_pdf(make_doc(amount_cents=1), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoice.pdf"]


def test_render_failure_creates_no_file(tmp_path, monkeypatch):
    def broken(doc, **kwargs):
        raise RuntimeError("layout failed")

    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", broken)
    with pytest.raises(RuntimeError):
        write_invoice_pdf(make_doc(), tmp_path / "invoice.pdf")
    assert list(tmp_path.iterdir()) == []


def test_page_renders_to_a_non_trivial_png(tmp_path):
    pdf = write_invoice_pdf(make_doc(), tmp_path / "invoice.pdf")
    _run("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, tmp_path / "page")
    png = tmp_path / "page-1.png"
    assert png.is_file() and png.stat().st_size > 5_000
    with Image.open(png) as img:
        assert img.size == (510, 660)  # Letter at 60 dpi
        grey = img.convert("L")
        dark = sum(grey.histogram()[:200])  # pixels darker than light grey
    share = dark / (510 * 660)
    assert 0.01 < share < 0.25, f"page looks blank or smeared: {share:.3%} dark pixels"


def test_fonts_are_shipped_with_a_licence():
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE"):
        path = resource_path("fonts", name)
        assert path.is_file(), path
    assert "Bitstream Vera" in resource_path("fonts", "LICENSE").read_text(encoding="utf-8")


def test_resource_path_prefers_a_frozen_bundle(tmp_path, monkeypatch):
    bundled = tmp_path / "resources" / "fonts" / "DejaVuSans.ttf"
    bundled.parent.mkdir(parents=True)
    bundled.write_bytes(b"font")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_path("fonts", "DejaVuSans.ttf") == bundled
    # Anything not in the bundle falls back to the checkout's resources/ folder.
    assert resource_path("fonts", "LICENSE").is_file()
