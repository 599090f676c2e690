"""What the views need from the composition root, in one object."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..config import Settings
from ..payments.connection import StripeConnection
from ..persistence.queries import Queries
from ..services.unit_of_work import UnitOfWorkFactory
from .tasks import TaskRunner


@dataclass
class AppContext:
    settings: Settings
    uow: UnitOfWorkFactory
    queries: Queries
    runner: TaskRunner
    stripe: StripeConnection | None = None
    net: TaskRunner | None = None  # network calls (Stripe) run here, never on the DB thread
    sync: object | None = None     # SyncController
    open_demo: Callable[[], None] | None = None
    extras: dict = field(default_factory=dict)
