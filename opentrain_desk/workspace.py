"""An open workspace: its database, unit-of-work factory, read side and Stripe link.

Used by the window (``app.build_window``) and by the command-line tools (``check_cli``),
so it lives apart from the composition root that imports those.
"""
from __future__ import annotations

from .config import Settings
from .services.unit_of_work import UnitOfWorkFactory


class Workspace:
    """An open database with its unit-of-work factory, read models and Stripe link."""

    def __init__(self, settings: Settings, sandbox_server=None,
                 password: str | None = None) -> None:
        from .hygiene.workspace_open import open_database, preflight
        preflight(settings)  # before any folder or file is created
        settings.ensure_dirs()
        self.settings = settings
        self.sandbox = None
        self._own_sandbox = False
        if settings.sandbox:
            self._open_sandbox(sandbox_server)
        try:
            # a team member's password (sign-in): in memory only, never in settings
            self.engine, self.read_only = open_database(settings, password)
        except BaseException:
            self._stop_sandbox()
            raise
        if not self.read_only:  # team workspaces: other seats hear of every change
            from .persistence.live import ensure_notify_triggers
            ensure_notify_triggers(self.engine)
        self.uow = UnitOfWorkFactory(self.engine, settings.actor)
        from .persistence.read_side import SqlReadSide
        self.read = SqlReadSide(self.engine)
        self.stripe = self._connection()
        if self.sandbox is not None:
            self.stripe.load()  # the fixed sandbox key: no keyring involved
        self.mail_server = None
        self.mail = self._mail_link()
        if settings.demo:
            self._seed_demo()

    def _open_sandbox(self, server) -> None:
        from .sandbox.emulator import SandboxStripe
        if server is None:
            server, self._own_sandbox = SandboxStripe(), True
            restored = SandboxStripe.load_state(self.settings.sandbox_state_file)
            if not restored and self.settings.demo and not self.settings.db_url:
                self._discard_demo_database()  # its charges lived in a lost emulator
            server.start()
        self.sandbox = server

    def _discard_demo_database(self) -> None:
        database = self.settings.home / f"{self.settings.workspace_name}.sqlite"
        for path in (database, database.with_name(database.name + "-wal"),
                     database.with_name(database.name + "-shm")):
            path.unlink(missing_ok=True)

    def _connection(self):
        from .payments.connection import StripeConnection
        if self.sandbox is not None:
            return StripeConnection(self.uow, None, sandbox_url=self.sandbox.base_url,
                                    sandbox_key=self.sandbox.api_key)
        from .secrets import KeyringSecretStore
        return StripeConnection(self.uow, KeyringSecretStore(),
                                api_base=self.settings.stripe_api_base)

    def _seed_demo(self) -> None:
        # only the sandbox demo needs Stripe (asking for a gateway reads the OS keyring)
        gateway = self.stripe.gateway() if self.sandbox is not None else None
        if gateway is not None:
            from .sandbox.sandbox_demo import seed_sandbox_demo
            seed_sandbox_demo(self.uow, gateway, self.sandbox.complete_onboarding,
                              self.sandbox.inject_fault, self.sandbox.open_dispute)
        else:
            from .sandbox.demo import seed_demo
            seed_demo(self.uow)

    @property
    def label(self) -> str:
        """Where the books live, password hidden (window title, Settings → Workspace)."""
        return self.engine.url._replace(password=None).render_as_string(hide_password=False)

    @property
    def is_team(self) -> bool:
        """A team workspace on a server: members sign in with their own database login."""
        return self.engine.dialect.name != "sqlite"

    def team_admin(self):
        """The ``services.ports.TeamAdmin`` for Settings → Team: none in a solo workspace
        (no logins to manage); on a server, the PostgreSQL one when this build has it."""
        if not self.is_team:
            return None
        try:
            from .persistence.team_members import PgTeamAdmin
        except ImportError:
            return None
        return PgTeamAdmin(self.engine)

    def payment_worker(self, on_change):
        """The outbox worker for this workspace (started by the UI's SyncController)."""
        from .payments.outbox import OutboxWorker
        if not self.is_team:
            return OutboxWorker(self.uow, self.stripe.gateway, on_change=on_change)
        # a team: only a seat with the key (its keyring) and the role sends; it says so
        from functools import partial

        from .services import payment_sender
        return OutboxWorker(self.uow, self.stripe.gateway, on_change=on_change,
                            may_send=partial(payment_sender.may_send, self.uow),
                            after_pass=payment_sender.Heartbeat(self.uow))

    def payments_sender(self):
        """For the status bar (team workspaces): who sends payments, or None when solo."""
        if not self.is_team:
            return None
        from functools import partial

        from .services import payment_sender
        return partial(payment_sender.current, self.uow)

    def change_feed(self):
        """Other seats' changes (``services.ports.ChangeFeed``): PostgreSQL only, else
        None (a solo workspace has no other seats)."""
        from .persistence.live import change_feed
        return change_feed(self.engine)

    def mail_worker(self, on_change):
        """The mail outbox worker (started by the UI's MailSyncController)."""
        from .mail.outbox import MailWorker
        return MailWorker(self.uow, self.mail, on_change=on_change, idle_interval=15.0)

    def _mail_link(self):
        """Mail to trainers; in the sandbox through an embedded SMTP server whose messages
        are kept as .eml files next to the workspace (Settings → E-mail lists them)."""
        from .mail.link import MailConnection
        if not self.settings.sandbox:
            from .secrets import KeyringSecretStore
            return MailConnection(self.uow, KeyringSecretStore())
        from .mail.sandbox_smtp import SandboxSmtp
        self.mail_server = SandboxSmtp(
            self.settings.home / f"{self.settings.workspace_name}.mail").start()
        link = MailConnection(self.uow, None, sandbox=self.mail_server)
        if self._may_save_mail_config():
            from .services.mail import MailConfig
            current = link.config()
            if not current.host or current.host == self.mail_server.host:
                link.save(MailConfig(self.mail_server.host, self.mail_server.port, "none", "",
                                     current.sender_name or "OpenTrain Desk sandbox",
                                     current.sender_address or "payouts@sandbox.invalid"))
        return link

    def _may_save_mail_config(self) -> bool:
        """Mail settings are the Owner's in a team (the database refuses them to other
        roles): another member's sandbox seat opens with what is stored instead."""
        if self.read_only:
            return False
        if not self.is_team:
            return True
        from .domain.roles import Capability
        from .services.team import NotAMember, whoami
        try:
            return whoami(self.uow).can(Capability.MANAGE_TEAM)
        except NotAMember:
            return False

    def _stop_sandbox(self) -> None:
        if self.sandbox is not None and self._own_sandbox:
            self.sandbox.stop()

    def close(self) -> None:
        if self.mail_server is not None:
            self.mail_server.stop()
        if self.sandbox is not None and self._own_sandbox:
            self.sandbox.save_state(self.settings.sandbox_state_file)
            self.sandbox.stop()
        self.engine.dispose()
