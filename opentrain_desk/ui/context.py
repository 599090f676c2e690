"""What the views need from the composition root, in one object.

The UI holds no engine and no payment internals: it reads through ``read`` (the read
side), writes by calling service use cases with the ``uow`` factory, and runs both on
the ``db`` executor; Stripe calls run on ``net``, exports on ``files``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # annotations only: start-up makes a context before these load
    from ..config import Settings
    from ..services.ports import StripeLink, TeamAdmin
    from ..services.read_models import ReadSide
    from ..services.team import Member
    from ..services.unit_of_work import UnitOfWorkFactory
    from .ops import Ops


@dataclass
class AppContext:
    settings: Settings
    uow: UnitOfWorkFactory | None    # None while the workspace opens (start-up)
    read: ReadSide
    db: Ops                          # all database work, one thread
    net: Ops                         # network calls (Stripe), never on the database thread
    files: Ops | None = None         # exports and other long file work
    stripe: StripeLink | None = None
    sync: object | None = None       # SyncController
    live: object | None = None       # ui.live.LiveUpdates: other seats' changes (team)
    workspace_label: str = ""        # where the books live, for titles and Settings
    open_demo: Callable[[], None] | None = None
    member: Member | None = None     # who is signed in (set by the main window at start)
    team_admin: TeamAdmin | None = None  # members' database logins (Settings → Team)
    is_team: bool = False            # a team workspace on a server (members sign in)
    mail: object | None = None       # mail.link.MailConnection: settings, test, preview
    mail_sync: object | None = None  # mail_sync.MailSyncController
    extras: dict = field(default_factory=dict)

    @property
    def opened(self) -> bool:
        """The workspace is open: writes and every list work (before, at start-up, only the
        first page of jobs is shown)."""
        return self.uow is not None
