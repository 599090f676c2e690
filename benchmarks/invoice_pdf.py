#!/usr/bin/env python3
"""One invoice PDF: the app's renderer vs. the same invoice drawn with the bare canvas API.

Every round renders the same N invoices (EMP / PAY / SUB / credit notes, Unicode names such
as Zoë Müller-Łukasiewicz and José Núñez) with each variant, alternating, ROUNDS times:

- app: ``render_invoice_pdf`` — layout, drawing, fonts, everything the app does per PDF;
- canvas: the baseline of issue 17. The same text at the same positions (taken from the
  app's own layout, computed once *outside* the timed loop, so the baseline does no layout
  work at all) drawn with plain ``reportlab.pdfgen.canvas`` calls — setFont, setFillColor,
  drawString, line, rect, drawImage — with the same DejaVu Sans TTF files registered the
  usual reportlab way (``TTFont(name, path)``), same page size, invariant mode and
  reportlab's default compression;
- canvas+lean: the same baseline, but with the app's font objects and stream settings
  (lean font subsets, no ASCII85): what is left between the two is layout and drawing;
- helvetica: the same baseline with the standard Helvetica fonts (nothing embedded; glyphs
  outside WinAnsi such as Ł do not print): a reference point only.

Each variant runs in its own worker process (reportlab keeps one font object per font face,
so the usual and the lean DejaVu cannot share a process); the rounds alternate the order.
Prints the median PDFs/s per core of each variant, the ratios app / canvas (target >= 0.8)
and app / canvas+lean, the PDF sizes, the workers' peak RSS, and where the app's time goes
(layout, drawing, font subsetting, compression, the rest of writing the PDF), measured by
timing those functions in a separate pass. ``--jobs 2`` gives every variant two worker
processes rendering at once (both cores busy, as in the bulk export); rates stay per core.

    .venv/bin/python benchmarks/invoice_pdf.py [--n 200] [--rounds 9] [--jobs 1]
"""
from __future__ import annotations

import argparse
import datetime
import io
import re
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportlab.pdfbase import pdfdoc, pdfmetrics, ttfonts  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from opentrain_desk.domain.invoices import (  # noqa: E402
    BillingType,
    InvoiceDocument,
    InvoiceKind,
    InvoiceParty,
)
from opentrain_desk.reports import (  # noqa: E402
    invoice_canvas,
    invoice_flow,
    invoice_layout,
    invoice_pdf,
)
from opentrain_desk.reports.exports import peak_rss  # noqa: E402
from opentrain_desk.reports.invoice_fonts import (  # noqa: E402
    FONT_BOLD,
    FONT_FILES,
    FONT_REGULAR,
    register_fonts,
)
from opentrain_desk.reports.invoice_pdf import PAGE_SIZES, render_invoice_pdf  # noqa: E402
from opentrain_desk.resources import resource_path  # noqa: E402

MB = 1024 * 1024
ISSUER = InvoiceParty("Brightline Talent Agency LLC",
                      ("500 Market Street, Suite 1200", "San Francisco, CA 94105"),
                      "billing@brightline.example", "EIN 12-3456789")
PEOPLE = [("Zoë Müller-Łukasiewicz", ("Calle de Alcalá 42", "28014 Madrid"), "zoe@example.com"),
          ("José Núñez", ("Ñuñoa, Santiago",), "jose@example.com"),
          ("Ana Lima", ("Rua Augusta 1500", "São Paulo"), "ana@example.com"),
          ("Kenji Watanabe", ("2-1-1 Nihonbashi", "Tokyo 103-0027"), "kenji@example.com")]
PROJECTS = ["LLM Evaluation — Spanish", "Code review RLHF", "Preference pairs: medical",
            "Math reasoning traces", "Safety red-teaming <b>&</b>"]
VARIANTS = ("app", "canvas", "canvas+lean", "helvetica")


def documents(n: int) -> list[InvoiceDocument]:
    kinds = [InvoiceKind.EMPLOYER_FUNDING, InvoiceKind.TRAINER_PAYOUT,
             InvoiceKind.EMPLOYER_FUNDING, InvoiceKind.SUBSCRIPTION, InvoiceKind.CREDIT_NOTE]
    docs = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        name, lines, email = PEOPLE[i % len(PEOPLE)]
        person = InvoiceParty(name, lines, email)
        payout = kind is InvoiceKind.TRAINER_PAYOUT
        description = {
            InvoiceKind.EMPLOYER_FUNDING: f"Milestone {i % 7 + 1}: annotate {(i % 9 + 1) * 500:,}"
                                          f" preference pairs — trainer {name}",
            InvoiceKind.TRAINER_PAYOUT: f"Milestone payout: batch {i}, reviewed by {name}",
            InvoiceKind.SUBSCRIPTION: "Agency plan, monthly: up to 25 active contracts",
            InvoiceKind.CREDIT_NOTE: f"Credit note for EMP-2026-{i:06d}: milestone cancelled"
                                     " before work started",
        }[kind]
        docs.append(InvoiceDocument(
            number=f"{kind.prefix}-2026-{i + 1:06d}",
            issue_date=datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 300),
            billing_type=BillingType.SUBSCRIPTION if kind is InvoiceKind.SUBSCRIPTION
            else BillingType.MILESTONE,
            kind=kind, issuer=ISSUER, bill_to=person if payout else ISSUER if i % 2 else person,
            project_name=PROJECTS[i % len(PROJECTS)], description=description,
            amount_cents=10_000 + (i * 7919) % 2_000_000,
            payment_status={InvoiceKind.TRAINER_PAYOUT: "Pending",
                            InvoiceKind.CREDIT_NOTE: "Refunded"}.get(kind, "Paid"),
            stripe_references=(("PaymentIntent", f"pi_3Pq{i:020d}"),
                               ("Charge", f"ch_3Pq{i:020d}")),
            corrects=f"EMP-2026-{i:06d}" if kind is InvoiceKind.CREDIT_NOTE else ""))
    return docs


# --------------------------------------------------------------------------- the baselines
# Each variant renders in its own worker process(es): reportlab keeps one font object per
# font face name, so the baseline's usual registration of DejaVu Sans and the app's lean
# one cannot live in the same process.


def _register_usual_fonts() -> None:
    """DejaVu Sans the usual reportlab way, under the app's font names (the same widths:
    the precomputed layout measures with these)."""
    for name, filename in FONT_FILES.items():
        pdfmetrics.registerFont(ttfonts.TTFont(name, str(resource_path("fonts", filename))))


def _helvetica(app_name: str) -> str:
    return "Helvetica-Bold" if app_name == FONT_BOLD else "Helvetica"


def _same(app_name: str) -> str:
    return app_name


def prepared(doc: InvoiceDocument) -> tuple:
    """What the baselines draw: the app's pages with their footers, and the metadata."""
    size = PAGE_SIZES["letter"]
    pages = invoice_layout.layout(doc, size)
    for number, ops in enumerate(pages, start=1):
        ops += invoice_layout.footer(doc, size[0], number, len(pages))
    info = invoice_canvas.PdfInfo(f"Invoice {doc.number}", doc.issuer.name,
                                  f"{doc.kind.label} invoice {doc.number}",
                                  [doc.number, doc.series])
    return size, pages, info


def canvas_render(job: tuple, fonts=_same) -> bytes:
    """The invoice drawn with the bare canvas API (``fonts``: app font name → font used)."""
    size, pages, info = job
    buf = io.BytesIO()
    canv = Canvas(buf, pagesize=size, invariant=1, initialFontName=fonts(FONT_REGULAR))
    info.apply(canv)  # the same metadata as the app's
    for ops in pages:
        for op in ops:
            if isinstance(op, invoice_flow.Text):
                canv.setFont(fonts(op.style.font), op.style.size)
                canv.setFillColor(op.style.colour)
                canv.drawString(op.x, op.y, op.text)
            elif isinstance(op, invoice_flow.Line):
                canv.setStrokeColor(op.colour)
                canv.setLineWidth(op.width)
                canv.line(op.x0, op.y0, op.x1, op.y1)
            elif isinstance(op, invoice_flow.Box):
                canv.setFillColor(op.colour)
                canv.rect(op.x, op.y, op.w, op.h, stroke=0, fill=1)
            elif isinstance(op, invoice_flow.Picture):
                canv.drawImage(op.reader, op.x, op.y, op.w, op.h, mask="auto")
        canv.showPage()
    canv.save()
    return buf.getvalue()


def _canvas_lean(job: tuple) -> bytes:
    with invoice_canvas.binary_streams():
        return canvas_render(job)


RENDER = {
    "app": lambda doc, job: render_invoice_pdf(doc),
    "canvas": lambda doc, job: canvas_render(job),
    "canvas+lean": lambda doc, job: _canvas_lean(job),
    "helvetica": lambda doc, job: canvas_render(job, _helvetica),
}

# --------------------------------------------------------------------------- worker side

_STATE: dict = {}


def _setup(variant: str, n: int) -> None:
    if variant == "canvas":
        _register_usual_fonts()
    else:
        register_fonts()  # the app's lean fonts
    docs = documents(n)
    _STATE.update(variant=variant, docs=docs,
                  jobs=[None] * n if variant == "app" else [prepared(doc) for doc in docs])
    _run(0, 1)  # warm: imports, font caches


def _run(start: int, stop: int) -> int:
    """Render docs[start:stop] with this worker's variant; returns the peak RSS."""
    render = RENDER[_STATE["variant"]]
    docs, jobs = _STATE["docs"], _STATE["jobs"]
    for i in range(start, stop):
        render(docs[i], jobs[i])
    return peak_rss()


def _mean_size() -> float:
    render, pairs = RENDER[_STATE["variant"]], zip(_STATE["docs"], _STATE["jobs"], strict=True)
    return statistics.mean(len(render(doc, job)) for doc, job in pairs)


def _fonts_embedded() -> str:
    """The font file streams' sizes in one PDF of this variant (what the size is made of)."""
    data = RENDER[_STATE["variant"]](_STATE["docs"][0], _STATE["jobs"][0])
    sizes = [int(m) for m in re.findall(rb"/Length (\d+) /Length1", data)]
    return f"{len(sizes)} font file(s), {sum(sizes) / 1024:.1f} KB of {len(data) / 1024:.1f} KB"


# --------------------------------------------------------------------------- profile

class _Clock:
    """Accumulates the wall time spent inside wrapped functions (inclusive)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, owner, attr: str, label: str) -> None:
        original = getattr(owner, attr)
        spent = self.spent
        spent[label] = 0.0

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started
        setattr(owner, attr, timed)


def _profile() -> dict[str, float]:
    """Shares of the app's render time (in the app's worker, last: it wraps functions)."""
    docs = _STATE["docs"]
    clock = _Clock()
    clock.wrap(invoice_pdf, "layout", "layout")  # as render_invoice_pdf looks them up
    clock.wrap(invoice_pdf, "footer", "footer")
    clock.wrap(Canvas, "save", "save")
    clock.wrap(ttfonts.TTFontFace, "makeSubset", "subset")
    clock.wrap(pdfdoc.PDFStreamFilterZCompress, "encode", "compress")
    started = time.perf_counter()
    for doc in docs:
        render_invoice_pdf(doc)
    total = time.perf_counter() - started
    s = clock.spent
    parts = {
        "layout (wrapping, placing; was platypus)": s["layout"] + s["footer"],
        "drawing (canvas ops)": total - s["layout"] - s["footer"] - s["save"],
        "font subsetting (makeSubset)": s["subset"],
        "compression (zlib)": s["compress"],
        "writing the PDF objects (rest of save)": s["save"] - s["subset"] - s["compress"],
    }
    return {k: v / total for k, v in parts.items()} | {"_ms": total / len(docs) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="invoices per variant and round")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (>= 7)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes per variant, rendering at the same time")
    args = parser.parse_args()
    if args.rounds < 7:
        parser.error("--rounds must be at least 7 (the median of 7 alternating runs)")
    spawn = get_context("spawn")
    pools = {v: ProcessPoolExecutor(args.jobs, mp_context=spawn, initializer=_setup,
                                    initargs=(v, args.n)) for v in VARIANTS}
    bounds = [(args.n * k // args.jobs, args.n * (k + 1) // args.jobs) for k in range(args.jobs)]
    starts, stops = zip(*bounds, strict=True)
    for pool in pools.values():  # start the workers (and their set-up) before timing
        list(pool.map(_run, [0] * args.jobs, [0] * args.jobs))
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    peaks = dict.fromkeys(VARIANTS, 0)
    print(f"{args.n} invoices per variant and round, {args.rounds} alternating rounds, "
          f"{args.jobs} worker process(es) per variant", flush=True)
    for round_no in range(args.rounds):
        order = VARIANTS if round_no % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            started = time.perf_counter()
            results = list(pools[variant].map(_run, starts, stops))
            rates[variant].append(args.n / (time.perf_counter() - started) / args.jobs)
            peaks[variant] = max([peaks[variant], *results])
        print(f"  round {round_no + 1}: " + ", ".join(
            f"{v} {rates[v][-1]:.0f}/s" for v in VARIANTS), flush=True)

    sizes = {v: pools[v].submit(_mean_size).result() for v in VARIANTS}
    fonts = {v: pools[v].submit(_fonts_embedded).result() for v in VARIANTS}
    shares = pools["app"].submit(_profile).result()
    for pool in pools.values():
        pool.shutdown()

    med = {v: statistics.median(r) for v, r in rates.items()}
    print()
    print(f"PDFs/s per core (median of {args.rounds} rounds; min–max), mean PDF size, "
          "peak RSS of the worker:")
    for v in VARIANTS:
        print(f"  {v:12} {med[v]:7.1f}  ({min(rates[v]):.0f}–{max(rates[v]):.0f})   "
              f"{sizes[v] / 1024:5.1f} KB ({fonts[v]})   {peaks[v] / MB:.0f} MB")
    print(f"ratio app / canvas      {med['app'] / med['canvas']:.2f} (target >= 0.8)")
    print(f"ratio app / canvas+lean {med['app'] / med['canvas+lean']:.2f} "
          "(same fonts and stream settings: layout and drawing only)")
    print(f"ratio app / helvetica   {med['app'] / med['helvetica']:.2f}")
    print(f"PDF size app / canvas   {sizes['app'] / sizes['canvas']:.2f}")
    print(f"peak RSS: this process {peak_rss() / MB:.0f} MB")
    print(f"where the app's time goes ({shares.pop('_ms'):.2f} ms per PDF, one timed pass):")
    for part, share in shares.items():
        print(f"  {share:6.1%}  {part}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
