"""``--self-check``: prove an installed (or frozen) app has every piece it needs, headless.

Runs in a temporary folder and touches nothing of the user's: migrates a new SQLite
workspace to head and fills it with the demo agency (ORM, services, invoicing), renders
an invoice PDF (reportlab, bundled fonts), asks keyring which backend it would use (no
secret is read or written), builds a Stripe client and one of its lazily imported
services (no network), loads the PostgreSQL driver if installed, and starts Qt (offscreen
unless ``QT_QPA_PLATFORM`` says otherwise) with the app icon. Prints one line (wrapped here):

    self-check ok: migrations 0004, 5 demo jobs, pdf 34 KB, keyring keyring.backends.fail.Keyring,
    qt offscreen, stripe 16.1.0, postgres psycopg 3.3.9

and returns 0, or prints ``self-check failed: <step>: <reason>`` (redacted) and returns 1.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TextIO

__all__ = ["run_self_check", "sample_invoice"]

STEP_WIDTH = 300  # a failure reason is cut to keep the report one line


def sample_invoice():
    from ..domain.invoices import BillingType, InvoiceDocument, InvoiceKind, InvoiceParty
    return InvoiceDocument(
        number="EMP-2026-000001", issue_date=dt.date(2026, 1, 15),
        billing_type=BillingType.MILESTONE, kind=InvoiceKind.EMPLOYER_FUNDING,
        issuer=InvoiceParty("Self-check Agency LLC", ("1 Test Street", "Springfield"),
                            "billing@selfcheck.example"),
        bill_to=InvoiceParty("Zoë Müller-Łukasiewicz", ("Kraków",), "zoe@example.com"),
        project_name="Self-check — multilingual RLHF", description="Milestone 1: 400 pairs",
        amount_cents=123_450, payment_status="Paid",
        stripe_references=(("PaymentIntent", "pi_selfcheck"),))


def _workspace(folder: Path) -> str:
    from ..persistence.database import create_engine, current_revision, head_revision, migrate
    from ..persistence.queries import Queries
    from ..sandbox.demo import seed_demo
    from ..services.unit_of_work import UnitOfWorkFactory

    engine = create_engine(f"sqlite:///{(folder / 'selfcheck.sqlite').as_posix()}")
    try:
        migrate(engine, folder / "backups")
        revision = current_revision(engine)
        if revision != head_revision():
            raise RuntimeError(f"schema at {revision}, expected {head_revision()}")
        seed_demo(UnitOfWorkFactory(engine, "self-check"))
        jobs = Queries(engine).count_jobs()
    finally:
        engine.dispose()
    return f"migrations {revision}, {jobs} demo jobs"


def _pdf(folder: Path) -> str:
    from reportlab.lib.utils import ImageReader

    from ..reports.invoice_pdf import write_invoice_pdf
    from ..resources import resource_path
    logo = resource_path("icons", "opentrain-desk-128.png")
    ImageReader(str(logo)).getSize()  # the renderer would skip a broken logo silently
    doc = dataclasses.replace(sample_invoice(), logo_path=logo)
    path = write_invoice_pdf(doc, folder / "invoice.pdf")
    data = path.read_bytes()
    if not (data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]):
        raise RuntimeError("the rendered file is not a complete PDF")
    return f"pdf {max(1, round(len(data) / 1024))} KB"


def _keyring(_folder: Path) -> str:
    from importlib import metadata

    from ..secrets import KeyringSecretStore
    if not metadata.entry_points(group="keyring.backends"):
        raise RuntimeError("no keyring backends registered (keyring metadata missing)")
    return f"keyring {KeyringSecretStore().backend_name()}"


def _qt(_folder: Path) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QIcon, QImage
    from PySide6.QtWidgets import QApplication, QLabel

    from ..resources import resource_path
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "self-check"])
    icon = QIcon(str(resource_path("icons", "opentrain-desk-64.png")))
    if icon.isNull():
        raise RuntimeError("the app icon did not load")
    label = QLabel("OpenTrain Desk · $1,234.50")
    label.adjustSize()
    image = QImage(label.size(), QImage.Format.Format_ARGB32)
    image.fill(0)
    label.render(image)
    label.deleteLater()
    if image.isNull():
        raise RuntimeError("widgets cannot be drawn")
    return f"qt {app.platformName()}"


def _stripe(_folder: Path) -> str:
    import stripe

    from ..payments.stripe_gateway import StripeGateway
    gateway = StripeGateway("sk_test_" + "0" * 24, base_url="http://127.0.0.1:9", timeout=1)
    for service in ("customers", "payment_intents", "transfers", "accounts"):
        getattr(gateway.v1, service)  # lazily imported in the SDK: catches a thin bundle
    return f"stripe {stripe.VERSION}"


def _postgres(_folder: Path) -> str:
    try:
        import psycopg  # noqa: F401 - optional: shared PostgreSQL workspaces
    except ImportError:
        return "postgres driver not installed"
    import sqlalchemy as sa
    engine = sa.create_engine("postgresql+psycopg://self-check@127.0.0.1:1/none")
    engine.dispose()  # the dialect and driver loaded; no connection is made
    return f"postgres psycopg {psycopg.__version__} ({psycopg.pq.__impl__})"


STEPS: tuple[tuple[str, Callable[[Path], str]], ...] = (
    ("workspace", _workspace), ("pdf", _pdf), ("keyring", _keyring), ("qt", _qt),
    ("stripe", _stripe), ("postgres", _postgres))


def run_self_check(out: TextIO | None = None) -> int:
    """Run every step in a temporary folder; print one summary line; 0 when all passed."""
    from .logs import redact
    out = out or sys.stdout
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="opentrain-self-check-") as tmp:
        for name, step in STEPS:
            try:
                results.append(step(Path(tmp)))
            except Exception as error:  # noqa: BLE001 - report any failure, one line
                reason = " ".join(f"{type(error).__name__}: {error}".split())[:STEP_WIDTH]
                print(redact(f"self-check failed: {name}: {reason}"), file=out, flush=True)
                return 1
    elapsed = time.perf_counter() - started
    print(f"self-check ok: {', '.join(results)} ({elapsed:.1f} s)", file=out, flush=True)
    return 0
