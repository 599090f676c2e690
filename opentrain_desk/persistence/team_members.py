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
from .team_security import TeamSetupError, group, role_prefix

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


# -- SQL: the SECURITY DEFINER functions ------------------------------------------------------
def member_functions_sql(prefix: str, schema: str, admin: str) -> str:
    roles = ", ".join(f"'{role.value}'" for role in Role)
    groups = ", ".join(f"'{group(prefix, role)}'" for role in Role)
    definer = f"SECURITY DEFINER SET search_path = {schema}, pg_catalog, pg_temp"
    now = "(now() AT TIME ZONE 'utc')"
    return f"""
CREATE OR REPLACE FUNCTION {schema}.otd_group(p_role text) RETURNS text LANGUAGE sql
IMMUTABLE AS $f$ SELECT '{prefix}_' || p_role $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_require_owner() RETURNS void LANGUAGE plpgsql
{definer} AS $f$
BEGIN
  IF session_user::text = '{admin}' OR pg_has_role(session_user, '{prefix}_owner', 'MEMBER')
  THEN RETURN; END IF;
  RAISE EXCEPTION USING ERRCODE = '42501',
    MESSAGE = 'role refused [MANAGE_TEAM]: your role cannot manage the team';
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_row(p_login text) RETURNS {schema}.members
LANGUAGE plpgsql {definer} AS $f$
DECLARE hit members;
BEGIN
  SELECT * INTO hit FROM members WHERE login = p_login;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '42704',
      MESSAGE = format('%s is not a member of this workspace', p_login);
  END IF;
  RETURN hit;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_check_role(p_role text) RETURNS void
LANGUAGE plpgsql AS $f$
BEGIN
  IF p_role IS NULL OR p_role NOT IN ({roles}) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s is not a role; use one of: %s', p_role, '{roles.replace("'", "")}');
  END IF;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_keep_an_owner(m {schema}.members) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
BEGIN
  IF m.role = 'owner' AND m.active AND (SELECT count(*) FROM members
      WHERE active AND role = 'owner') <= 1 THEN
    RAISE EXCEPTION USING ERRCODE = '23514', MESSAGE = format(
      '%s is the last active Owner: make another member an Owner first', m.name);
  END IF;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_revoke_groups(p_login text) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
DECLARE g text;
BEGIN
  FOREACH g IN ARRAY ARRAY[{groups}] LOOP
    IF pg_has_role(p_login, g, 'MEMBER') THEN
      EXECUTE format('REVOKE %I FROM %I', g, p_login);
    END IF;
  END LOOP;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_add(p_login text, p_name text, p_role text,
  p_verifier text) RETURNS integer LANGUAGE plpgsql {definer} AS $f$
DECLARE new_id integer;
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_check_role(p_role);
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_login) THEN
    RAISE EXCEPTION USING ERRCODE = '42710',
      MESSAGE = format('the login %s already exists on this server', p_login);
  END IF;
  IF EXISTS (SELECT 1 FROM members WHERE lower(name) = lower(p_name)) THEN
    RAISE EXCEPTION USING ERRCODE = '23505',
      MESSAGE = format('a member named %s already exists', p_name);
  END IF;
  IF p_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'passwords are set as SCRAM verifiers';
  END IF;
  EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L', p_login, p_verifier);
  EXECUTE format('GRANT %I TO %I', otd_group(p_role), p_login);
  -- their own: a deactivated member is told "permission denied", not "no such table"
  EXECUTE format('GRANT USAGE ON SCHEMA {schema} TO %I', p_login);
  INSERT INTO members (login, name, role, active, created_at, updated_at)
    VALUES (p_login, p_name, p_role, true, {now}, {now}) RETURNING id INTO new_id;
  RETURN new_id;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_set_role(p_login text, p_role text)
RETURNS void LANGUAGE plpgsql {definer} AS $f$
DECLARE m members;
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_check_role(p_role);
  m := otd_member_row(p_login);
  IF p_role <> 'owner' THEN PERFORM otd_keep_an_owner(m); END IF;
  PERFORM otd_revoke_groups(p_login);
  IF m.active THEN EXECUTE format('GRANT %I TO %I', otd_group(p_role), p_login); END IF;
  UPDATE members SET role = p_role, updated_at = {now}, version = version + 1
    WHERE login = p_login;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_deactivate(p_login text) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
DECLARE m members;
BEGIN
  PERFORM otd_require_owner();
  m := otd_member_row(p_login);
  PERFORM otd_keep_an_owner(m);
  EXECUTE format('ALTER ROLE %I NOLOGIN', p_login);
  PERFORM otd_revoke_groups(p_login);
  UPDATE members SET active = false, updated_at = {now}, version = version + 1
    WHERE login = p_login;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_reactivate(p_login text) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
DECLARE m members;
BEGIN
  PERFORM otd_require_owner();
  m := otd_member_row(p_login);
  EXECUTE format('ALTER ROLE %I LOGIN', p_login);
  PERFORM otd_revoke_groups(p_login);
  EXECUTE format('GRANT %I TO %I', otd_group(m.role), p_login);
  UPDATE members SET active = true, updated_at = {now}, version = version + 1
    WHERE login = p_login;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_rename(p_login text, p_name text)
RETURNS void LANGUAGE plpgsql {definer} AS $f$
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_member_row(p_login);
  UPDATE members SET name = p_name, updated_at = {now}, version = version + 1
    WHERE login = p_login;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_reset_password(p_login text, p_verifier text)
RETURNS void LANGUAGE plpgsql {definer} AS $f$
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_member_row(p_login);
  IF p_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'passwords are set as SCRAM verifiers';
  END IF;
  EXECUTE format('ALTER ROLE %I PASSWORD %L', p_login, p_verifier);
END $f$;
"""
