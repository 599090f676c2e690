"""Read models for the Reports area: the invoice list and the monthly totals.

Same style as ``queries.py`` / ``history_queries.py``: rows from ``services.read_models``,
one short connection per call, filtering, sorting and keyset paging done in SQL. The
functions take the engine first; ``InvoiceQueries`` binds them for ``read_side.SqlReadSide``.

Dates: an invoice's ``issue_date`` is the UTC calendar date of the money event (the unit of
work's clock is UTC), so date filters and months are UTC calendar dates/months throughout.

Monthly totals (the Reports chart):

* **funded** = the amounts of employer funding invoices (``EMP``) issued in the month. An EMP
  invoice is issued in the same transaction as a successful funding, so this is exactly the
  money that came in, dated the day it came in.
* **paid out** = the amounts of milestones whose payout reached the trainer
  (``payout_status`` Paid out), by the month they were approved, i.e. released. Not the
  ``PAY`` invoices: those are issued at approval and may still wait for the trainer's payout
  setup. These are exactly the payment-history rows shown as Paid out, so the chart and the
  table agree.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..domain.invoices import InvoiceDocument
from ..domain.milestones import PayoutStatus
from ..domain.periods import add_months, first_of_month
from ..services.invoicing import document_from_row
from ..services.read_models.invoices import (
    InvoiceFilters,
    InvoiceRow,
    InvoiceTotals,
    MonthlyTotal,
)
from .orm import invoices, milestones

__all__ = [
    "SORT_KEYS",
    "InvoiceFilters",
    "InvoiceRow",
    "InvoiceTotals",
    "MonthlyTotal",
    "count_invoices",
    "invoice_documents",
    "invoice_ids",
    "invoice_records",
    "invoice_totals",
    "iter_invoices",
    "list_invoices",
    "monthly_totals",
    "payment_statuses",
]

NO_FILTERS = InvoiceFilters()
IN_CHUNK = 500  # ids per ``IN (...)`` (well below every driver's parameter limit)


CREDIT_NOTE = "CN"
#: An invoice's amount as it counts in totals: credit notes negative.
SIGNED_AMOUNT = sa.case((invoices.c.kind == CREDIT_NOTE, -invoices.c.amount_cents),
                        else_=invoices.c.amount_cents)

#: Where an invoice without an amount sorts (first ascending, last descending), on every
#: database alike: the sort key and the keyset predicate both use it, so NULL never breaks
#: paging (SQLite and PostgreSQL order NULLs differently and ``NULL < x`` is never true).
NO_AMOUNT = -(2 ** 62)

#: Sort keys the UI may ask for (anything else is refused, never interpolated).
SORT_KEYS: dict[str, sa.ColumnElement] = {
    "number": invoices.c.number,
    "project": invoices.c.project_name,
    "billing_type": invoices.c.billing_type,
    "amount": sa.func.coalesce(SIGNED_AMOUNT, sa.literal(NO_AMOUNT, sa.BigInteger)),
    "status": invoices.c.payment_status,
    "date": invoices.c.issue_date,
}


def _sort_value(sort: str, row: InvoiceRow) -> Any:
    """The value of ``SORT_KEYS[sort]`` for a row already read (the keyset's position)."""
    if sort == "amount":
        return NO_AMOUNT if row.amount_cents is None else row.amount_cents
    return {"number": row.number, "project": row.project_name,
            "billing_type": row.billing_type, "status": row.payment_status,
            "date": row.issue_date}[sort]

_ROW_COLUMNS = (invoices.c.id, invoices.c.number, invoices.c.kind, invoices.c.billing_type,
                invoices.c.issue_date, invoices.c.project_name, invoices.c.description,
                invoices.c.bill_to, invoices.c.amount_cents, invoices.c.currency,
                invoices.c.payment_status, invoices.c.stripe_refs)


# -- filtering ---------------------------------------------------------------------------------

def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bill_to_name(dialect: str) -> sa.ColumnElement:
    """The bill-to / payee name out of the JSON snapshot, in SQL."""
    if dialect == "sqlite":
        return sa.func.json_extract(invoices.c.bill_to, "$.name")
    if dialect == "postgresql":
        return sa.func.json_extract_path_text(sa.cast(invoices.c.bill_to, sa.JSON),
                                              "name")
    return invoices.c.bill_to  # other databases: the whole snapshot text


def _where(filters: InvoiceFilters, dialect: str) -> list:
    c, where = invoices.c, []
    if filters.date_from is not None:
        where.append(c.issue_date >= filters.date_from)
    if filters.date_to is not None:
        where.append(c.issue_date <= filters.date_to)
    if filters.billing_type:
        where.append(c.billing_type == filters.billing_type)
    if filters.payment_status:
        where.append(c.payment_status == filters.payment_status)
    if filters.kind:
        where.append(c.kind == filters.kind)
    text = filters.text.strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        where.append(sa.or_(*(column.ilike(pattern, escape="\\") for column in (
            c.number, c.project_name, c.description, _bill_to_name(dialect)))))
    return where


def _sort_column(sort: str) -> sa.ColumnElement:
    try:
        return SORT_KEYS[sort]
    except KeyError:
        raise ValueError(f"cannot sort invoices by {sort!r}; one of {sorted(SORT_KEYS)}") \
            from None


def _order_by(sort: str, descending: bool) -> list:
    column = _sort_column(sort)
    if descending:
        return [column.desc(), invoices.c.id.desc()]
    return [column.asc(), invoices.c.id.asc()]


def _after(sort: str, descending: bool, after: InvoiceRow) -> sa.ColumnElement:
    """Keyset: the rows after ``after`` in the order ``(sort key, id)``, same direction."""
    column, value = _sort_column(sort), _sort_value(sort, after)
    if descending:
        return sa.or_(column < value, sa.and_(column == value, invoices.c.id < after.id))
    return sa.or_(column > value, sa.and_(column == value, invoices.c.id > after.id))


def _row(record) -> InvoiceRow:
    try:
        name = json.loads(record.bill_to).get("name") or ""
    except (ValueError, AttributeError):
        name = ""
    try:
        refs = tuple((str(label), str(ref)) for label, ref in json.loads(record.stripe_refs))
    except (ValueError, TypeError):
        refs = ()
    amount = record.amount_cents
    if record.kind == CREDIT_NOTE and amount is not None:
        amount = -amount  # credit notes are money back: shown and totalled negative
    return InvoiceRow(record.id, record.number, record.kind, record.billing_type,
                      record.issue_date, record.project_name, record.description, name,
                      amount, record.currency, record.payment_status, refs)



# -- the invoice list ----------------------------------------------------------------------------

def list_invoices(engine: sa.Engine, filters: InvoiceFilters = NO_FILTERS, *,
                  sort: str = "date", descending: bool = True,
                  after: InvoiceRow | None = None, limit: int | None = 200
                  ) -> list[InvoiceRow]:
    """One page of the filtered invoices, ordered by ``sort`` (a ``SORT_KEYS`` key; ties
    broken by id in the same direction). Paged by keyset: the rows after the row ``after``
    in this order, so a row inserted meanwhile never shows twice or pushes one out."""
    where = _where(filters, engine.dialect.name)
    if after is not None:
        where.append(_after(sort, descending, after))
    query = (sa.select(*_ROW_COLUMNS).where(*where)
             .order_by(*_order_by(sort, descending)).limit(limit))
    with engine.connect() as conn:
        return [_row(record) for record in conn.execute(query)]


def iter_invoices(engine: sa.Engine, filters: InvoiceFilters = NO_FILTERS, *,
                  sort: str = "date", descending: bool = True,
                  batch: int = 1000) -> Iterator[InvoiceRow]:
    """Every filtered invoice in order, read a batch at a time by keyset (for exports)."""
    after = None
    while True:
        page = list_invoices(engine, filters, sort=sort, descending=descending,
                             after=after, limit=batch)
        yield from page
        if len(page) < batch:
            return
        after = page[-1]


def count_invoices(engine: sa.Engine, filters: InvoiceFilters = NO_FILTERS) -> int:
    return invoice_totals(engine, filters).count


def invoice_totals(engine: sa.Engine,
                   filters: InvoiceFilters = NO_FILTERS) -> InvoiceTotals:
    """How many invoices match, and the sum of their amounts (credit notes negative)."""
    query = (sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(SIGNED_AMOUNT), 0))
             .select_from(invoices).where(*_where(filters, engine.dialect.name)))
    with engine.connect() as conn:
        count, total = conn.execute(query).one()
    return InvoiceTotals(int(count or 0), int(total or 0))


def invoice_totals_by_kind(engine: sa.Engine,
                           filters: InvoiceFilters = NO_FILTERS) -> dict[str, int]:
    """The matching invoices' sums per series (``EMP`` money in, ``PAY`` money out, ``SUB``
    subscriptions, ``CN`` credit notes, negative: money back): never one sum of both
    directions."""
    query = (sa.select(invoices.c.kind, sa.func.coalesce(sa.func.sum(SIGNED_AMOUNT), 0))
             .select_from(invoices).where(*_where(filters, engine.dialect.name))
             .group_by(invoices.c.kind))
    with engine.connect() as conn:
        return {kind: int(total or 0) for kind, total in conn.execute(query)}


def invoice_ids(engine: sa.Engine, filters: InvoiceFilters = NO_FILTERS, *,
                sort: str = "date", descending: bool = True) -> list[int]:
    """The ids of every filtered invoice, in view order (for "export all in view")."""
    query = (sa.select(invoices.c.id).where(*_where(filters, engine.dialect.name))
             .order_by(*_order_by(sort, descending)))
    with engine.connect() as conn:
        return list(conn.scalars(query))


def invoice_records(engine: sa.Engine, ids: Sequence[int]) -> list[sa.Row]:
    """Full ``invoices`` rows for ``ids``, in the order given (unknown ids are left out).

    The rows feed ``services.invoicing.document_from_row`` for the PDF renderer."""
    by_id: dict[int, sa.Row] = {}
    wanted = list(dict.fromkeys(ids))
    with engine.connect() as conn:
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start:start + IN_CHUNK]
            for record in conn.execute(sa.select(invoices).where(invoices.c.id.in_(chunk))):
                by_id[record.id] = record
    return [by_id[i] for i in wanted if i in by_id]


def invoice_documents(engine: sa.Engine, ids: Sequence[int], logo_path: Path | None = None,
                      batch: int = 500) -> Iterator[InvoiceDocument]:
    """The invoices ``ids`` as documents for the PDF renderer, in the order given, read a
    batch at a time while the caller renders (unknown ids are left out)."""
    wanted = list(ids)
    for start in range(0, len(wanted), batch):
        for record in invoice_records(engine, wanted[start:start + batch]):
            yield document_from_row(record, logo_path)


def payment_statuses(engine: sa.Engine) -> list[str]:
    """The payment statuses invoices were issued with (for the status filter)."""
    query = sa.select(invoices.c.payment_status).distinct().order_by(invoices.c.payment_status)
    with engine.connect() as conn:
        return list(conn.scalars(query))


# -- monthly totals ------------------------------------------------------------------------------

def _month_key(column, dialect: str) -> sa.ColumnElement:
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def monthly_totals(engine: sa.Engine, date_from: date | None = None,
                   date_to: date | None = None, *, today: date | None = None,
                   max_months: int = 24) -> list[MonthlyTotal]:
    """Funded vs. paid out per UTC month, oldest first, every month of the range present
    (zero where nothing happened).

    Without ``date_from`` the range starts 11 months before its end (a year of bars); without
    ``date_to`` it ends today. At most the latest ``max_months`` months are returned."""
    today = today or datetime.now(UTC).date()
    last = first_of_month(date_to or today)
    first = first_of_month(date_from) if date_from else add_months(last, -11)
    if first > last:
        return []
    first = max(first, add_months(last, -(max_months - 1)))
    start, end = first, add_months(last, 1)  # [start, end)
    dialect = engine.dialect.name
    lo = max(start, date_from) if date_from else start
    hi = min(end, date_to + timedelta(days=1)) if date_to else end

    inv = invoices.c
    month = _month_key(inv.issue_date, dialect)
    # Funded: employer funding net of the credit notes that correct it (refunds).
    funded_q = (sa.select(month, sa.func.sum(SIGNED_AMOUNT))
                .where(sa.or_(inv.kind == "EMP", sa.and_(inv.kind == CREDIT_NOTE,
                                                         inv.corrects.like("EMP-%"))),
                       inv.issue_date >= lo, inv.issue_date < hi)
                .group_by(month))
    # Paid out: see the module docstring (the released amount: a partial release pays less).
    ms = milestones.c
    paid_month = _month_key(ms.approved_at, dialect)
    paid_q = (sa.select(paid_month, sa.func.sum(inv.amount_cents))
              .select_from(milestones.join(invoices, sa.and_(inv.milestone_id == ms.id,
                                                             inv.kind == "PAY")))
              .where(ms.payout_status == PayoutStatus.PAID_OUT,
                     ms.approved_at >= _utc_midnight(lo), ms.approved_at < _utc_midnight(hi))
              .group_by(paid_month))
    with engine.connect() as conn:
        funded = {key: int(total or 0) for key, total in conn.execute(funded_q)}
        paid = {key: int(total or 0) for key, total in conn.execute(paid_q)}
    result, current = [], first
    while current <= last:
        key = f"{current.year:04d}-{current.month:02d}"
        result.append(MonthlyTotal(current, funded.get(key, 0), paid.get(key, 0)))
        current = add_months(current, 1)
    return result


class InvoiceQueries:
    """The functions above bound to one engine (part of ``read_side.SqlReadSide``)."""

    engine: sa.Engine

    def list_invoices(self, filters: InvoiceFilters = NO_FILTERS, **kwargs
                      ) -> list[InvoiceRow]:
        return list_invoices(self.engine, filters, **kwargs)

    def iter_invoices(self, filters: InvoiceFilters = NO_FILTERS, **kwargs
                      ) -> Iterator[InvoiceRow]:
        return iter_invoices(self.engine, filters, **kwargs)

    def invoice_documents(self, ids: Sequence[int], logo_path: Path | None = None
                          ) -> Iterator[InvoiceDocument]:
        return invoice_documents(self.engine, ids, logo_path)

    def count_invoices(self, filters: InvoiceFilters = NO_FILTERS) -> int:
        return count_invoices(self.engine, filters)

    def invoice_totals(self, filters: InvoiceFilters = NO_FILTERS) -> InvoiceTotals:
        return invoice_totals(self.engine, filters)

    def invoice_totals_by_kind(self, filters: InvoiceFilters = NO_FILTERS
                               ) -> dict[str, int]:
        return invoice_totals_by_kind(self.engine, filters)

    def invoice_ids(self, filters: InvoiceFilters = NO_FILTERS, **kwargs) -> list[int]:
        return invoice_ids(self.engine, filters, **kwargs)

    def payment_statuses(self) -> list[str]:
        return payment_statuses(self.engine)

    def monthly_totals(self, date_from: date | None = None, date_to: date | None = None,
                       **kwargs) -> list[MonthlyTotal]:
        return monthly_totals(self.engine, date_from, date_to, **kwargs)
