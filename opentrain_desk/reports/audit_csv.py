"""The audit log as CSV (Reports → Audit log → Export CSV): every entry of the filters,
newest first, read page by page from the read side, written atomically."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from ..services.read_models.audit import AuditFilters, AuditRow
from .csv_export import write_csv

AUDIT_CSV_HEADER = ("When (UTC)", "Member", "Login", "Object", "Object id", "Action",
                    "Change", "Before (JSON)", "After (JSON)")
PAGE = 500


def audit_csv_row(row: AuditRow) -> tuple:
    return (row.at.isoformat(timespec="seconds"), row.who, row.actor, row.entity,
            "" if row.entity_id is None else row.entity_id, row.action, row.change(),
            row.before or "", row.after or "")


def _rows(read, filters: AuditFilters, progress: Callable[[int, int], None] | None
          ) -> Iterator[tuple]:
    total, done, after = read.count_audit(filters), 0, None
    while True:
        page = read.audit_page(filters, after, PAGE)
        for row in page:
            yield audit_csv_row(row)
        done += len(page)
        if progress is not None:
            progress(done, max(total, done))
        if len(page) < PAGE:
            return
        after = page[-1]


def export_audit_csv(read, filters: AuditFilters, path: Path,
                     cancel: threading.Event | None = None,
                     progress: Callable[[int, int], None] | None = None) -> int:
    return write_csv(Path(path), AUDIT_CSV_HEADER, _rows(read, filters, progress), cancel)
