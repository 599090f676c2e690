"""The read side the UI is handed: every query the screens need, bound to one engine.

The composition root builds one ``SqlReadSide`` per workspace and puts it in the UI's
context as ``ctx.read``; the UI sees only the ``services.read_models.ReadSide`` protocol
and the plain rows, never the engine (cosmicpython's CQRS ``views``). Each call uses its
own short connection and is meant to run on the database thread (``ctx.db``).
"""
from __future__ import annotations

import sqlalchemy as sa

from .audit_queries import AuditQueries
from .history_queries import HistoryQueries
from .mail_queries import MailQueries
from .queries import Queries
from .reports_queries import InvoiceQueries


class SqlReadSide(Queries, HistoryQueries, InvoiceQueries, AuditQueries, MailQueries):
    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
