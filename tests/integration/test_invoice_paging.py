"""Keyset paging of the invoice list (Reports) and of its exports: rows inserted between
two pages never show twice and never push a row out, whatever the sort column and
direction, on SQLite and PostgreSQL."""
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from opentrain_desk.persistence import database
from opentrain_desk.persistence import reports_queries as rq
from opentrain_desk.persistence.orm import invoices
from opentrain_desk.persistence.read_side import SqlReadSide
from opentrain_desk.reports import exports

PARTY = '{"address_lines": [], "email": null, "name": "Acme Labs", "tax_id": null}'
PAGE = 3


@pytest.fixture
def engine(migrated_db_url):
    engine = database.create_engine(migrated_db_url)
    database.migrate(engine)
    yield engine
    engine.dispose()


_seq = itertools.count(1)


def insert(engine, *rows: tuple[int, date, str]) -> None:
    """Invoices ``(amount, issue date, project)``; amounts and dates repeat on purpose (ties
    are broken by id)."""
    with engine.begin() as conn:
        for amount, day, project in rows:
            n = next(_seq)
            conn.execute(invoices.insert().values(
                number=f"EMP-2026-{n:06d}", series="EMP-2026", seq=n, kind="EMP",
                billing_type="Milestone", issue_date=day, issuer=PARTY, bill_to=PARTY,
                project_name=project, description=f"Batch {n}", amount_cents=amount,
                currency="USD", payment_status="Paid", stripe_refs="[]",
                created_at=datetime(2026, 3, 5, tzinfo=UTC)))


def all_ids(engine) -> set[int]:
    return {row.id for row in rq.list_invoices(engine, limit=None)}


SEED = [(500, date(2026, 3, 1), "Beta"), (300, date(2026, 3, 2), "Alpha"),
        (500, date(2026, 3, 2), "Gamma"), (900, date(2026, 3, 1), "Alpha"),
        (100, date(2026, 3, 4), "Delta"), (300, date(2026, 3, 4), "Beta"),
        (700, date(2026, 3, 3), "Alpha"), (500, date(2026, 3, 5), "Eta"),
        (200, date(2026, 3, 3), "Zeta")]
#: Inserted after the first page: some sort before the cursor, some after, some tie with it.
MEANWHILE = [(50, date(2026, 2, 1), "Aardvark"), (500, date(2026, 3, 2), "Beta"),
             (9999, date(2026, 4, 1), "Zulu"), (300, date(2026, 3, 3), "Gamma")]


@pytest.mark.parametrize("sort", ["amount", "date", "project", "number"])
@pytest.mark.parametrize("descending", [False, True])
def test_rows_inserted_between_pages_show_exactly_once(engine, sort, descending):
    insert(engine, *SEED)
    before = all_ids(engine)
    seen, after = [], None
    first = True
    while True:
        page = rq.list_invoices(engine, sort=sort, descending=descending, after=after,
                                limit=PAGE)
        seen += [row.id for row in page]
        if first:
            insert(engine, *MEANWHILE)
            first = False
        if len(page) < PAGE:
            break
        after = page[-1]
    assert len(seen) == len(set(seen)), "a row was shown twice"
    assert before <= set(seen), "a row that was there all along was skipped"
    # and the walk is in the requested order
    everything = rq.list_invoices(engine, sort=sort, descending=descending, limit=None)
    order = [row.id for row in everything]
    assert seen == [i for i in order if i in set(seen)]


@pytest.mark.parametrize("sort, descending", [("amount", True), ("date", False)])
def test_exports_page_by_keyset_while_invoices_are_issued(engine, sort, descending,
                                                          tmp_path):
    insert(engine, *SEED)
    before = all_ids(engine)
    read = SqlReadSide(engine)
    rows = read.iter_invoices(sort=sort, descending=descending, batch=PAGE)
    seen = [next(rows).id for _ in range(PAGE + 1)]  # into the second batch
    insert(engine, *MEANWHILE)
    seen += [row.id for row in rows]
    assert len(seen) == len(set(seen)) and before <= set(seen)
    # the CSV export reads the same way
    count = exports.export_invoices_csv(read, rq.InvoiceFilters(), tmp_path / "i.csv",
                                        sort=sort, descending=descending)
    assert count == len(all_ids(engine))


def test_sorting_by_amount_is_the_same_on_every_database(engine):
    insert(engine, (500, date(2026, 3, 1), "A"), (100, date(2026, 3, 1), "B"))
    amounts = [r.amount_cents for r in rq.list_invoices(engine, sort="amount",
                                                        descending=False)]
    assert amounts == [100, 500]
    assert rq.SORT_KEYS["amount"] is not None and rq.NO_AMOUNT < -(10 ** 15)
