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

from ..domain.errors import DomainError
from ..domain.roles import Role
from .team_security import TeamSetupError, group, refused_capability, role_prefix
from .team_security import _q as quoted

SCRAM_ITERATIONS = 4096
PASSWORD_BYTES = 18  # 24 URL-safe characters, 144 bits


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str  # shown once to the person; never logged or stored


class TeamError(DomainError):
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
        text = getattr(diag, "message_primary", None) or str(error.orig).splitlines()[0]
        if refused_capability(error) is not None:  # "role refused [X]: your role cannot …"
            text = "Y" + text.split(": y", 1)[-1]
        raise TeamError(text if text.endswith(".") else text + ".") from None


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
    """The signed-in member (``conn``'s login) sets their own password: no longer a
    one-time one."""
    if len(password) < 12:
        raise TeamError("Choose a password of at least 12 characters.")
    _call(conn, "SELECT otd_own_password(:verifier)", verifier=scram_verifier(password))


def password_is_temporary(conn, login: str) -> bool:
    """Still the one-time password (it expires; see ``team_member_sql.ONE_TIME_DAYS``)."""
    return bool(conn.scalar(sa.text(
        "SELECT rolvaliduntil IS NOT NULL AND rolvaliduntil <> 'infinity' FROM pg_roles "
        "WHERE rolname = :login"), {"login": login}))


def list_members(conn) -> list[sa.Row]:
    return list(conn.execute(sa.text(
        "SELECT m.id, m.login, m.name, m.role, m.active, m.created_at, "
        "COALESCE(r.rolcanlogin, false) AS can_login FROM members m "
        "LEFT JOIN pg_roles r ON r.rolname = m.login ORDER BY m.id")))



def drop_roles(conn, prefix: str, logins: tuple[str, ...] = ()) -> list[str]:
    """Remove the workspace's member logins (those in a group or carrying its tag, plus
    ``logins``) and group roles (tests, decommissioning). Returns the names dropped."""
    like = prefix.replace("_", r"\_") + r"\_%"
    groups = [group(prefix, role) for role in Role]
    found = [row[0] for row in conn.execute(sa.text(
        "SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
        "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = ANY(:groups) "
        "UNION SELECT rolname FROM pg_roles WHERE rolname LIKE :like AND rolcanlogin"),
        {"groups": groups, "like": like})]
    found += [row[0] for row in conn.execute(sa.text(
        "SELECT rolname FROM pg_roles WHERE rolname LIKE :tag"),
        {"tag": "%\\_" + prefix.removeprefix("otd_")}) if row[0] not in found]
    dropped = []
    for name in [*found, *(n for n in logins if n not in found), *groups]:
        if conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n AND NOT rolsuper"),
                       {"n": name}):
            conn.exec_driver_sql(f"DROP OWNED BY {quoted(name)} CASCADE")
            conn.exec_driver_sql(f"DROP ROLE {quoted(name)}")
            dropped.append(name)
    return dropped


class PgTeamAdmin:
    """``services.ports.TeamAdmin`` on PostgreSQL: the login side of Settings → Team (the
    service writes the ``members`` row and the audit entry in its own unit of work; these
    run on their own connection as the signed-in Owner and never touch those rows)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _run(self, sql: str, **params) -> None:
        with self.engine.begin() as conn:
            _call(conn, sql, **params)

    def add_member(self, login: str, role: str, password: str) -> None:
        self._run("SELECT otd_login_create(:login, :role, :verifier)", login=login,
                  role=role, verifier=scram_verifier(password))

    def change_role(self, login: str, role: str) -> None:
        self._run("SELECT otd_login_set_role(:login, :role)", login=login, role=role)

    def deactivate(self, login: str) -> None:
        self._run("SELECT otd_login_deactivate(:login)", login=login)

    def reactivate(self, login: str) -> None:
        with self.engine.begin() as conn:
            role = conn.scalar(sa.text("SELECT role FROM members WHERE login = :login"),
                               {"login": login})
            _call(conn, "SELECT otd_login_reactivate(:login, :role)", login=login,
                  role=role)

    def reset_password(self, login: str, password: str) -> None:
        self._run("SELECT otd_login_password(:login, :verifier)", login=login,
                  verifier=scram_verifier(password))

    def change_own_password(self, login: str, old: str, new: str) -> None:
        url = self.engine.url.set(username=login, password=old)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                change_own_password(conn, new)
        except sa.exc.OperationalError as error:
            if "password" in str(error.orig).lower():
                raise TeamError("The current password is not right.") from None
            raise
        finally:
            engine.dispose()

    def password_is_temporary(self, login: str) -> bool:
        with self.engine.connect() as conn:
            return password_is_temporary(conn, login)
