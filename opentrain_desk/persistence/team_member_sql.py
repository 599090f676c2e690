"""The SECURITY DEFINER functions behind ``team_members`` (member logins), as SQL text.

Created by ``team_security.provision`` in the workspace's schema, owned by the
administrator: each checks its caller is an Owner (or that administrator), touches only
logins listed in ``members`` and keeps at least one active Owner.
"""
from __future__ import annotations

from ..domain.roles import Role

#: A one-time password (new member, reset) expires unless replaced within this many days.
ONE_TIME_DAYS = 7


def member_functions_sql(prefix: str, schema: str, admin: str) -> str:
    roles = ", ".join(f"'{role.value}'" for role in Role)
    groups = ", ".join(f"'{prefix}_{role.value}'" for role in Role)
    definer = f"SECURITY DEFINER SET search_path = {schema}, pg_catalog, pg_temp"
    now = "(now() AT TIME ZONE 'utc')"
    one_time = f"(now() + interval '{ONE_TIME_DAYS} days')::text"
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
      MESSAGE = format('The login %s is not a member of this workspace', p_login);
  END IF;
  RETURN hit;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_check_role(p_role text) RETURNS void
LANGUAGE plpgsql AS $f$
BEGIN
  IF p_role IS NULL OR p_role NOT IN ({roles}) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('“%s” is not a role; use one of: %s', p_role, '{roles.replace("'", "")}');
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
CREATE OR REPLACE FUNCTION {schema}.otd_listed(p_login text) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
BEGIN  -- an Owner may touch only the workspace's members' logins, never e.g. the admin's
  IF NOT EXISTS (SELECT 1 FROM members WHERE login = p_login) THEN
    RAISE EXCEPTION USING ERRCODE = '42704',
      MESSAGE = format('The login %s is not a member of this workspace', p_login);
  END IF;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_check_verifier(p_verifier text) RETURNS void
LANGUAGE plpgsql AS $f$
BEGIN
  IF p_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'Passwords are set as SCRAM verifiers';
  END IF;
END $f$;
-- the login side alone (Settings -> Team: the service writes the members row itself, in
-- its own transaction, so these never write or lock members rows)
CREATE OR REPLACE FUNCTION {schema}.otd_login_create(p_login text, p_role text,
  p_verifier text) RETURNS void LANGUAGE plpgsql {definer} AS $f$
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_check_role(p_role);
  PERFORM otd_check_verifier(p_verifier);
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_login) THEN
    RAISE EXCEPTION USING ERRCODE = '42710',
      MESSAGE = format('The login %s already exists on this server', p_login);
  END IF;
  EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L VALID UNTIL %L', p_login,
                 p_verifier, {one_time});
  EXECUTE format('GRANT %I TO %I', otd_group(p_role), p_login);
  -- their own: a deactivated member is told "permission denied", not "no such table"
  EXECUTE format('GRANT USAGE ON SCHEMA {schema} TO %I', p_login);
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_login_set_role(p_login text, p_role text)
RETURNS void LANGUAGE plpgsql {definer} AS $f$
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_check_role(p_role);
  PERFORM otd_listed(p_login);
  PERFORM otd_revoke_groups(p_login);
  IF (SELECT rolcanlogin FROM pg_roles WHERE rolname = p_login) THEN
    EXECUTE format('GRANT %I TO %I', otd_group(p_role), p_login);
  END IF;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_login_deactivate(p_login text) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_listed(p_login);
  EXECUTE format('ALTER ROLE %I NOLOGIN', p_login);
  PERFORM otd_revoke_groups(p_login);
  BEGIN  -- end their open sessions (needs the right to signal them; refused: they are
         -- refused from their next statement anyway, having no group any more)
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE usename = p_login AND pid <> pg_backend_pid();
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_login_reactivate(p_login text, p_role text)
RETURNS void LANGUAGE plpgsql {definer} AS $f$
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_check_role(p_role);
  PERFORM otd_listed(p_login);
  EXECUTE format('ALTER ROLE %I LOGIN', p_login);
  PERFORM otd_revoke_groups(p_login);
  EXECUTE format('GRANT %I TO %I', otd_group(p_role), p_login);
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_login_password(p_login text, p_verifier text)
RETURNS void LANGUAGE plpgsql {definer} AS $f$
BEGIN
  PERFORM otd_require_owner();
  PERFORM otd_listed(p_login);
  PERFORM otd_check_verifier(p_verifier);
  EXECUTE format('ALTER ROLE %I PASSWORD %L VALID UNTIL %L', p_login, p_verifier,
                 {one_time});
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_own_password(p_verifier text) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
BEGIN  -- a member replaces their one-time password: no expiry from now on
  PERFORM otd_listed(session_user::text);
  PERFORM otd_check_verifier(p_verifier);
  EXECUTE format('ALTER ROLE %I PASSWORD %L VALID UNTIL %L', session_user, p_verifier,
                 'infinity');
END $f$;
-- the whole member (command line: login and members row in one transaction)
CREATE OR REPLACE FUNCTION {schema}.otd_member_add(p_login text, p_name text, p_role text,
  p_verifier text) RETURNS integer LANGUAGE plpgsql {definer} AS $f$
DECLARE new_id integer;
BEGIN
  IF EXISTS (SELECT 1 FROM members WHERE lower(name) = lower(p_name)) THEN
    RAISE EXCEPTION USING ERRCODE = '23505',
      MESSAGE = format('A member named %s already exists', p_name);
  END IF;
  PERFORM otd_login_create(p_login, p_role, p_verifier);
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
  PERFORM otd_login_set_role(p_login, p_role);
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
  PERFORM otd_login_deactivate(p_login);
  UPDATE members SET active = false, updated_at = {now}, version = version + 1
    WHERE login = p_login;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_member_reactivate(p_login text) RETURNS void
LANGUAGE plpgsql {definer} AS $f$
DECLARE m members;
BEGIN
  m := otd_member_row(p_login);
  PERFORM otd_login_reactivate(p_login, m.role);
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
  PERFORM otd_login_password(p_login, p_verifier);
END $f$;
"""
