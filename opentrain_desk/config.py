"""Typed settings: where things live and which Stripe mode to use. Never secrets."""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "OpenTrain Desk"
APP_ID = "opentrain-desk"


def _default_home() -> Path:
    override = os.environ.get("OPENTRAIN_DESK_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_ID, False))


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers / services)
        return "owner"


def plain_sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL (no query, no escapes, not in memory),
    read without SQLAlchemy so start-up can show the window before loading it; any other
    URL: None (SQLAlchemy parses it, later)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix):]
    if not path or path == ":memory:" or path.startswith("file:") or any(
            c in path for c in "?%#"):
        return None
    return Path(path)


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs; built from the command line."""

    home: Path = field(default_factory=_default_home)
    db_url: str | None = None
    demo: bool = False
    sandbox: bool = False
    actor: str = field(default_factory=_current_user)
    #: Stripe API base for non-sandbox keys; None means Stripe itself (tests: the emulator).
    stripe_api_base: str | None = None

    @property
    def workspace_name(self) -> str:
        """Sandbox data never mixes with a real workspace: each has its own file."""
        name = "demo" if self.demo else "workspace"
        return f"{name}-sandbox" if self.sandbox else name

    @property
    def sandbox_state_file(self) -> Path:
        return self.home / f"{self.workspace_name}.stripe.pickle"

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.home / f'{self.workspace_name}.sqlite').as_posix()}"

    @property
    def backup_dir(self) -> Path:
        return self.home / "backups"

    @property
    def ui_state_file(self) -> Path:
        return self.home / "ui-state.ini"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def ensure_dirs(self) -> list[Path]:
        """Create the data, backup and log folders; returns those that could not be made
        (a read-only data folder: the workspace opens read-only, logs go to stderr)."""
        missing = []
        for path in (self.home, self.backup_dir, self.log_dir):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError:
                missing.append(path)
        return missing
