"""Members of a team workspace as database logins: add, change role, deactivate,
reactivate, reset a password, change one's own.

Each operation is a SECURITY DEFINER function in the workspace's schema (created by
``team_security.provision``, owned by the administrator who provisioned it): an Owner's own
login may call them from the app, the administrator from the command line, and each
function checks that its caller is an Owner (or the administrator), touches only logins
listed in ``members``, and refuses to leave the team without an active Owner. Role
membership is what the database checks at every statement, so a new role or a
deactivation holds from the member's next statement on.

Passwords are generated here and only a SCRAM-SHA-256 verifier is sent to the server, so
the password itself never reaches the server, its logs or ours; it is returned once to be
shown to the person (never logged or stored).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa

from ..domain.roles import Role
from .team_security import TeamSetupError, role_prefix

SCRAM_ITERATIONS = 4096
PASSWORD_BYTES = 18  # 24 URL-safe characters, 144 bits


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str  # shown once to the person; never logged or stored


class TeamError(Exception):
    """A member operation the database refused; the message is for people."""


# -- passwords --------------------------------------------------------------------------------
def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def scram_verifier(password: str, salt: bytes | None = None,
                   iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of ``password`` (``SCRAM-SHA-256$…``), as the server would
    compute it (NFKC normalization standing in for SASLprep)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    normalized = unicodedata.normalize("NFKC", password).encode()
    salted = hashlib.pbkdf2_hmac("sha256", normalized, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return (f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:"
            f"{b64(server_key)}")


def matches(password: str, verifier: str) -> bool:
    """Whether ``password`` is the one behind a stored SCRAM ``verifier`` (tests, checks)."""
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if match is None:
        return False
    again = scram_verifier(password, base64.b64decode(match.group(2)), int(match.group(1)))
    return hmac.compare_digest(again, verifier)


# -- logins -----------------------------------------------------------------------------------
def login_for(name: str, prefix: str) -> str:
    """``Maria Köhler`` in workspace ``otd_3f9a2c1b`` → ``maria_kohler_3f9a2c1b``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:40] or "member"
    return f"{slug}_{prefix.removeprefix('otd_')}"


def _free_login(conn, name: str, prefix: str) -> str:
    base = login_for(name, prefix)
    login, n = base, 1
    while conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": login}):
        n += 1
        login = f"{base}{n}"
    return login


def _call(conn, sql: str, **params):
    try:
        return conn.execute(sa.text(sql), params).scalar()
    except sa.exc.DBAPIError as error:
        diag = getattr(error.orig, "diag", None)
        raise TeamError(getattr(diag, "message_primary", None) or str(error.orig)) from None


def _prefix(conn) -> str:
    prefix = role_prefix(conn)
    if not prefix:
        raise TeamSetupError("This workspace is not set up for a team yet: run "
                             "“opentrain-desk team init” first.")
    return prefix


def add_member(conn, name: str, role: Role) -> Credentials:
    """A new login in ``role`` with a generated password (returned once)."""
    name = " ".join(name.split())
    if not name:
        raise TeamError("Give the member a name.")
    login = _free_login(conn, name, _prefix(conn))
    password = new_password()
    _call(conn, "SELECT otd_member_add(:login, :name, :role, :verifier)", login=login,
          name=name, role=role.value, verifier=scram_verifier(password))
    return Credentials(login, password)


def change_role(conn, login: str, role: Role) -> None:
    _call(conn, "SELECT otd_member_set_role(:login, :role)", login=login, role=role.value)


def deactivate(conn, login: str) -> None:
    _call(conn, "SELECT otd_member_deactivate(:login)", login=login)


def reactivate(conn, login: str) -> None:
    _call(conn, "SELECT otd_member_reactivate(:login)", login=login)


def rename(conn, login: str, name: str) -> None:
    _call(conn, "SELECT otd_member_rename(:login, :name)", login=login,
          name=" ".join(name.split()))


def reset_password(conn, login: str) -> Credentials:
    """A new one-time password for ``login`` (an Owner or the administrator)."""
    password = new_password()
    _call(conn, "SELECT otd_member_reset_password(:login, :verifier)", login=login,
          verifier=scram_verifier(password))
    return Credentials(login, password)


def change_own_password(conn, password: str) -> None:
    """The signed-in member sets their own password (any role may)."""
    if len(password) < 12:
        raise TeamError("Choose a password of at least 12 characters.")
    verifier = scram_verifier(password)  # only base64 and "$:" characters: safe to quote
    try:
        conn.exec_driver_sql(f"ALTER ROLE CURRENT_USER PASSWORD '{verifier}'")
    except sa.exc.DBAPIError as error:
        raise TeamError(str(error.orig).splitlines()[0]) from None


def list_members(conn) -> list[sa.Row]:
    return list(conn.execute(sa.text(
        "SELECT m.id, m.login, m.name, m.role, m.active, m.created_at, "
        "COALESCE(r.rolcanlogin, false) AS can_login FROM members m "
        "LEFT JOIN pg_roles r ON r.rolname = m.login ORDER BY m.id")))
