"""Transitional: the old ``TaskRunner.run(fn, ok, err, owner=)`` spelling over ``ops.Ops``.

Removed once every caller uses ``ctx.db.op(owner, work)`` / ``ctx.db.run(owner, ...)``."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject

from .ops import Ops, retry_ms, user_message  # noqa: F401 - old import path

TaskRunner = Ops


class LegacyRunner:
    def __init__(self, ops: Ops) -> None:
        self.ops = ops

    def run(self, fn: Callable[[], Any], on_success=None, on_error=None,
            owner: QObject | None = None):
        if owner is None:
            owner = getattr(on_success, "__self__", None) or getattr(on_error, "__self__", None)
        if not isinstance(owner, QObject):
            owner = self.ops
        return self.ops.run(owner, fn, on_success, on_error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ops, name)
