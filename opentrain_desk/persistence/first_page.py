"""The first page of jobs while the workspace is still opening (start-up only).

Reading the list through SQLAlchemy means importing it first, which takes longer than the
whole window needs to paint. :class:`FirstPageReader` reads the one page the window shows
first — every job that is not archived, open ones first, newest first, with its trainer and
open-milestone counts — with the standard library's ``sqlite3``, read-only, from a
workspace file that is already at the newest schema revision. Everything else (a search,
archived jobs, the next page, any other list) waits, on the database thread, for the real
read side (:meth:`attach`), and so does the first page itself when the file cannot be read
this way (new, not closed cleanly, older, newer or damaged: the workspace's opening deals
with it, and says what is wrong).

``tests/integration/test_first_page.py`` checks the rows are the ones
``queries.Queries.list_jobs`` returns, on the demo workspace and on random ones.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from ..domain.milestones import MilestoneStatus, PayoutStatus
from ..services.read_models import JobRow
from .revision import HEAD_REVISION

log = logging.getLogger(__name__)

_SETTLED = ", ".join(f"'{p.name}'" for p in PayoutStatus if p.settled)
#: ``queries.unresolved()`` in SQL: not refunded, and not paid with a settled payout.
_UNRESOLVED = (f"NOT (m.status = '{MilestoneStatus.REFUNDED.name}' OR "
               f"(m.status = '{MilestoneStatus.PAID.name}' AND m.payout_status IN ({_SETTLED})))")
_PAGE = ("SELECT id, title, archived, created_at, version FROM jobs WHERE archived = 0 "
         "ORDER BY archived, id DESC LIMIT ?")
_COUNT = "SELECT count(*) FROM jobs WHERE archived = 0"
_COUNTS = ("SELECT c.job_id, count(DISTINCT c.id), "
           f"count(m.id) FILTER (WHERE {_UNRESOLVED}) "
           "FROM contracts AS c LEFT OUTER JOIN milestones AS m ON m.contract_id = c.id "
           "WHERE c.job_id IN ({ids}) GROUP BY c.job_id")


class NotReadable(Exception):
    """This file cannot be read early (not there, another revision, locked, damaged)."""


def _timestamp(value: str) -> datetime:
    """As ``orm.Timestamp`` gives it: stored naive UTC, read aware."""
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


class FirstPageReader:
    """A ``ReadSide`` until the workspace is open: see the module's description."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._real = None
        self._ready = threading.Event()
        self._early_ok = True
        #: set once a call waits for the real read side (start-up stops waiting for the
        #: first page then, and opens the workspace)
        self.deferred = threading.Event()

    # -- the workspace is open (or will not open) -------------------------------------
    def attach(self, real) -> None:
        """The real read side: from now on every call goes to it."""
        self._real = real
        self._ready.set()

    def abandon(self) -> None:
        """The workspace did not open: whatever waits is told so."""
        self._ready.set()

    def _wait_real(self):
        if not self._ready.is_set():
            self.deferred.set()
        self._ready.wait()
        if self._real is None:
            raise RuntimeError("the workspace did not open")
        return self._real

    def __getattr__(self, name: str):
        return getattr(self._wait_real(), name)

    # -- the first page ------------------------------------------------------------------
    def count_jobs(self, text: str = "", include_archived: bool = True) -> int:
        if self._real is None and not text and not include_archived:
            try:
                return self._early(lambda db: db.execute(_COUNT).fetchone()[0])
            except NotReadable:
                pass
        return self._wait_real().count_jobs(text, include_archived)

    def list_jobs(self, text: str = "", include_archived: bool = True,
                  after: JobRow | None = None, limit: int = 200) -> list[JobRow]:
        if self._real is None and not text and not include_archived and after is None:
            try:
                return self._early(lambda db: self._page(db, limit))
            except NotReadable:
                pass
        return self._wait_real().list_jobs(text, include_archived, after, limit)

    def _early(self, read):
        wal = self.path.with_name(self.path.name + "-wal")
        if not self._early_ok or not self.path.is_file() or wal.exists():
            raise NotReadable(self.path)  # new, or not closed cleanly: opening recovers it
        try:
            # immutable: a cleanly closed file holds everything in itself, and SQLite then
            # takes no lock and creates no -wal/-shm beside it (a damaged file stays as is)
            uri = self.path.as_uri() + "?mode=ro&immutable=1"
            with closing(sqlite3.connect(uri, uri=True)) as db:
                revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
                if revision is None or revision[0] != HEAD_REVISION:
                    raise NotReadable(self.path)
                return read(db)
        except (sqlite3.Error, ValueError) as error:
            log.info("first page of jobs waits for the workspace to open (%s)", error)
            self._early_ok = False
            raise NotReadable(self.path) from error

    @staticmethod
    def _page(db: sqlite3.Connection, limit: int) -> list[JobRow]:
        page = db.execute(_PAGE, (limit,)).fetchall()
        counts: dict[int, tuple[int, int]] = {}
        if page:
            marks = ", ".join("?" for _ in page)
            for job_id, n_contracts, n_open in db.execute(_COUNTS.format(ids=marks),
                                                          [row[0] for row in page]):
                counts[job_id] = (n_contracts, n_open)
        return [JobRow(job_id, title, bool(archived), _timestamp(created), *counts.get(
                    job_id, (0, 0)), version)
                for job_id, title, archived, created, version in page]
