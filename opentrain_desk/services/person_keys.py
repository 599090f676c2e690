"""The setting key of a person's name (before teams; ``members.name`` now). Kept apart so
``team`` can read it without importing ``workspace_settings`` (which checks roles);
``workspace_settings`` re-exports it with every other key."""
from __future__ import annotations

PERSON_NAME_PREFIX = "person_name:"


def person_name_key(login: str) -> str:
    """The name a person (a login) goes by in audit entries and "Approved by"."""
    return f"{PERSON_NAME_PREFIX}{login}"[:80]
