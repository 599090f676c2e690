"""A team workspace's database enforces the roles: group roles, grants, guard triggers.

``provision(conn)`` runs on an administrator connection (a role that may CREATE ROLE and
owns the workspace's tables, e.g. the one that ran the migrations) and is idempotent:

- one NOLOGIN group role per Role, named ``<prefix>_<role>`` (PostgreSQL roles are
  cluster-wide, so the prefix — derived from the database, schema and workspace id and kept
  in the ``team.role_prefix`` setting — keeps workspaces apart); each member's login is a
  member of exactly one group;
- nothing for PUBLIC; SELECT for every group (the Stripe ids of the outbox only for the
  roles that need them, the read side going through the ``stripe_operations_read`` view
  that blanks them for the others); INSERT/UPDATE/DELETE per ``team_policy.WRITES``;
- guard triggers for what a grant cannot say: the milestone status changes and columns
  each role may make (derived from ``domain/milestones.py`` and ``domain/roles.py``),
  which settings keys a role may write, detaching outbox history, the audit log being
  append-only with ``actor`` forced to the session's login, ``updated_by`` likewise, and
  at least one active Owner at all times;
- row-level security hiding the saved Stripe customer and payment-method ids in the
  settings from the roles without money capabilities.

A refusal by a guard raises SQLSTATE 42501 (like a missing privilege) with the message
``role refused [CAPABILITY]: your role cannot …``; :func:`refused_capability` reads it back
so the app can say "Your role (Accountant) cannot …". Role membership is checked at every
statement, so a role change or a deactivation takes effect on the member's next statement.
"""
from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from ..domain.operations import OperationStatus
from ..domain.roles import Capability, Role
from ..services.workspace_settings import TEAM_ROLE_PREFIX, WORKSPACE_ID
from . import team_policy as policy
from .team_member_sql import member_functions_sql
from .orm import metadata

REFUSED = "role refused"
_REFUSED_RE = re.compile(r"role refused \[([A-Z_]+)\]")
READ_VIEW = "stripe_operations_read"


class TeamSetupError(Exception):
    """Provisioning or administering the team cannot proceed; the message says why."""


def group(prefix: str, role: Role) -> str:
    return f"{prefix}_{role.value}"


def refused_capability(error: BaseException) -> Capability | None:
    """The capability a guard trigger refused (from the error text), else None."""
    match = _REFUSED_RE.search(str(error))
    if match and match.group(1) in Capability.__members__:
        return Capability[match.group(1)]
    return None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- prefix and admin checks ------------------------------------------------------------------
def role_prefix(conn) -> str | None:
    """The workspace's group-role prefix, None when it is not a team workspace yet."""
    if not sa.inspect(conn).has_table("workspace_settings"):
        return None
    return conn.scalar(sa.text("SELECT value FROM workspace_settings WHERE key = :k"),
                       {"k": TEAM_ROLE_PREFIX})


def _ensure_prefix(conn) -> str:
    prefix = role_prefix(conn)
    if prefix:
        return prefix
    workspace = conn.scalar(sa.text("SELECT value FROM workspace_settings WHERE key = :k"),
                            {"k": WORKSPACE_ID})
    if not workspace:
        import uuid
        workspace = uuid.uuid4().hex
        conn.execute(sa.text("INSERT INTO workspace_settings (key, value) VALUES (:k, :v)"),
                     {"k": WORKSPACE_ID, "v": workspace})
    where = conn.execute(sa.text("SELECT current_database(), current_schema()")).one()
    digest = hashlib.sha256(f"{where[0]}/{where[1]}/{workspace}".encode()).hexdigest()
    prefix = f"otd_{digest[:8]}"
    conn.execute(sa.text("INSERT INTO workspace_settings (key, value) VALUES (:k, :v)"),
                 {"k": TEAM_ROLE_PREFIX, "v": prefix})
    return prefix


def check_admin(conn) -> str:
    """The administrator's role name; :class:`TeamSetupError` unless it may create roles
    and owns the workspace's tables."""
    row = conn.execute(sa.text(
        "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
    )).one()
    if not (row.rolsuper or row.rolcreaterole):
        raise TeamSetupError(f"The login “{row.rolname}” may not create roles: run this as "
                             "the server's administrator (a role with CREATEROLE that owns "
                             "the workspace's tables).")
    owner = conn.scalar(sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'jobs' "
                                "AND schemaname = current_schema()"))
    if owner is None:
        raise TeamSetupError("This database has no OpenTrain Desk workspace in schema "
                             f"{conn.scalar(sa.text('SELECT current_schema()'))}.")
    if not row.rolsuper and owner != row.rolname:
        raise TeamSetupError(f"The workspace's tables belong to “{owner}”: run this as "
                             f"{owner} (or a superuser).")
    return row.rolname


# -- SQL generation ---------------------------------------------------------------------------
def _can_sql(prefix: str, schema: str) -> str:
    cases = []
    for capability in Capability:
        tests = " OR ".join(f"pg_has_role(current_user, {_lit(group(prefix, role))}, "
                            "'USAGE')" for role in policy.roles_with(capability))
        cases.append(f"WHEN {_lit(capability.name)} THEN {tests or 'false'}")
    labels = "\n".join(f"WHEN {_lit(c.name)} THEN {_lit(c.value)}" for c in Capability)
    return f"""
CREATE OR REPLACE FUNCTION {schema}.otd_is_admin() RETURNS boolean LANGUAGE sql STABLE AS $f$
  SELECT rolsuper OR rolname = {{admin}} FROM pg_roles WHERE rolname = current_user
$f$;
CREATE OR REPLACE FUNCTION {schema}.otd_can(cap text) RETURNS boolean LANGUAGE sql STABLE
AS $f$
  SELECT {schema}.otd_is_admin() OR CASE cap {' '.join(cases)} ELSE false END
$f$;
CREATE OR REPLACE FUNCTION {schema}.otd_refuse(cap text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format(
    '{REFUSED} [%s]: your role cannot %s', cap, CASE cap {labels} ELSE cap END);
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_need(VARIADIC caps text[]) RETURNS void
LANGUAGE plpgsql AS $f$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM unnest(caps) c WHERE {schema}.otd_can(c)) THEN
    PERFORM {schema}.otd_refuse(caps[1]);
  END IF;
END $f$;
"""


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)


def _caps(*capabilities: Capability) -> str:
    return ", ".join(_lit(c.name) for c in capabilities)


def _milestone_guard(schema: str) -> str:
    transitions = []
    for (old, new), caps in sorted(policy.status_changes().items()):
        ordered = sorted(caps, key=lambda c: list(Capability).index(c))
        transitions.append(f"WHEN {_lit(old + '>' + new)} THEN "
                           f"PERFORM {schema}.otd_need({_caps(*ordered)});")
    money, work = _caps(*policy.MONEY), _caps(Capability.EDIT_MILESTONES,
                                             Capability.RECORD_SUBMISSION,
                                             Capability.REQUEST_CHANGES, *policy.MONEY)
    nf = _lit(policy.NOT_FUNDED)
    return f"""
CREATE OR REPLACE FUNCTION {schema}.otd_guard_milestones() RETURNS trigger
LANGUAGE plpgsql AS $f$
BEGIN
  IF {schema}.otd_is_admin() THEN RETURN COALESCE(NEW, OLD); END IF;
  IF TG_OP = 'DELETE' THEN
    PERFORM {schema}.otd_need({_caps(Capability.EDIT_MILESTONES)});
    IF OLD.status <> {nf} THEN
      RAISE EXCEPTION USING ERRCODE = '23514',
        MESSAGE = 'only a Not Funded milestone can be deleted';
    END IF;
    RETURN OLD;
  END IF;
  NEW.updated_by := current_user;
  IF TG_OP = 'INSERT' THEN
    PERFORM {schema}.otd_need({_caps(Capability.EDIT_MILESTONES)});
    IF NEW.status <> {nf} OR NEW.payout_status <> 'NOT_STARTED' OR NEW.funded_at IS NOT NULL
       OR NEW.approved_at IS NOT NULL OR NEW.payment_intent_id IS NOT NULL
       OR NEW.charge_id IS NOT NULL THEN
      PERFORM {schema}.otd_need({_caps(Capability.FUND)});
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    CASE OLD.status || '>' || NEW.status
      {chr(10).join('      ' + t for t in transitions)}
      ELSE RAISE EXCEPTION USING ERRCODE = '23514',
        MESSAGE = format('a milestone cannot go from %s to %s', OLD.status, NEW.status);
    END CASE;
    IF NEW.status = 'PAID' THEN NEW.approved_by := current_user; END IF;
  END IF;
  IF NEW.amount_cents IS DISTINCT FROM OLD.amount_cents THEN
    IF OLD.status = {nf} AND NEW.status = {nf} THEN
      PERFORM {schema}.otd_need({_caps(Capability.EDIT_MILESTONES)});
    ELSE
      PERFORM {schema}.otd_need({_caps(Capability.FUND)});
    END IF;
  END IF;
  IF {_changed(policy.CONTENT_COLUMNS)} THEN
    PERFORM {schema}.otd_need({_caps(Capability.EDIT_MILESTONES)});
  END IF;
  IF {_changed(policy.SUBMISSION_COLUMNS)} THEN
    PERFORM {schema}.otd_need({_caps(Capability.RECORD_SUBMISSION)});
  END IF;
  IF {_changed(policy.MONEY_COLUMNS)} THEN
    PERFORM {schema}.otd_need({money});
  END IF;
  PERFORM {schema}.otd_need({work});
  RETURN NEW;
END $f$;
"""


def _setting_capability_sql(schema: str) -> str:
    whens = " ".join(f"WHEN k LIKE {_lit(pattern)} THEN {_lit(cap.name)}"
                     for pattern, cap in policy.SETTING_RULES)
    secret = " OR ".join(f"key LIKE {_lit(p)}" for p in policy.SECRET_SETTINGS)
    return f"""
CREATE OR REPLACE FUNCTION {schema}.otd_setting_capability(k text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE {whens} ELSE {_lit(policy.OTHER_SETTINGS.name)} END
$f$;
CREATE OR REPLACE FUNCTION {schema}.otd_guard_settings() RETURNS trigger
LANGUAGE plpgsql AS $f$
BEGIN
  IF {schema}.otd_is_admin() THEN RETURN COALESCE(NEW, OLD); END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM {schema}.otd_need({schema}.otd_setting_capability(OLD.key));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM {schema}.otd_need({schema}.otd_setting_capability(NEW.key));
  END IF;
  RETURN COALESCE(NEW, OLD);
END $f$;
ALTER TABLE {schema}.workspace_settings ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS otd_read ON {schema}.workspace_settings;
DROP POLICY IF EXISTS otd_insert ON {schema}.workspace_settings;
DROP POLICY IF EXISTS otd_update ON {schema}.workspace_settings;
DROP POLICY IF EXISTS otd_delete ON {schema}.workspace_settings;
CREATE POLICY otd_read ON {schema}.workspace_settings FOR SELECT
  USING (NOT ({secret}) OR {schema}.otd_can({_lit(Capability.BILLING.name)}));
CREATE POLICY otd_insert ON {schema}.workspace_settings FOR INSERT WITH CHECK (true);
CREATE POLICY otd_update ON {schema}.workspace_settings FOR UPDATE USING (true);
CREATE POLICY otd_delete ON {schema}.workspace_settings FOR DELETE USING (true);
"""


def _other_guards(schema: str) -> str:
    closed = ", ".join(_lit(s.name) for s in OperationStatus if not s.open)
    return f"""
CREATE OR REPLACE FUNCTION {schema}.otd_stamp_updated_by() RETURNS trigger
LANGUAGE plpgsql AS $f$
BEGIN
  IF NOT {schema}.otd_is_admin() THEN NEW.updated_by := current_user; END IF;
  RETURN NEW;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_guard_audit() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NOT {schema}.otd_is_admin() THEN NEW.actor := current_user; END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'the audit log is append-only';
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_guard_operations() RETURNS trigger
LANGUAGE plpgsql AS $f$
BEGIN
  IF {schema}.otd_can({_lit(Capability.SEND_PAYMENTS.name)}) THEN RETURN NEW; END IF;
  -- a Manager deleting a Not Funded milestone detaches its closed fundings, nothing more
  IF NEW.milestone_id IS NOT NULL OR OLD.status NOT IN ({closed}) THEN
    PERFORM {schema}.otd_refuse({_lit(Capability.SEND_PAYMENTS.name)});
  END IF;
  RETURN NEW;
END $f$;
CREATE OR REPLACE FUNCTION {schema}.otd_guard_members() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM {schema}.members WHERE active AND role = 'owner') THEN
    RAISE EXCEPTION USING ERRCODE = '23514',
      MESSAGE = 'a team needs at least one active Owner';
  END IF;
  RETURN NULL;
END $f$;
"""


_TRIGGERS = (
    ("milestones", "otd_guard", "BEFORE INSERT OR UPDATE OR DELETE", "ROW",
     "otd_guard_milestones"),
    ("jobs", "otd_stamp", "BEFORE INSERT OR UPDATE", "ROW", "otd_stamp_updated_by"),
    ("workspace_settings", "otd_guard", "BEFORE INSERT OR UPDATE OR DELETE", "ROW",
     "otd_guard_settings"),
    ("audit_log", "otd_guard", "BEFORE INSERT OR UPDATE OR DELETE", "ROW",
     "otd_guard_audit"),
    ("audit_log", "otd_no_truncate", "BEFORE TRUNCATE", "STATEMENT", "otd_guard_audit"),
    ("stripe_operations", "otd_guard", "BEFORE UPDATE", "ROW", "otd_guard_operations"),
    ("members", "otd_owner", "AFTER UPDATE OR DELETE", "ROW", "otd_guard_members"),
)


def _read_view_sql(schema: str) -> str:
    """``stripe_operations_read`` blanking the secret ids for whoever cannot read them
    (the view runs with its owner's rights; ``current_user`` is still the member)."""
    table = metadata.tables["stripe_operations"]
    columns = []
    for column in table.columns:
        if column.name in policy.SECRET_OPERATION_COLUMNS:
            columns.append(
                f"CASE WHEN has_column_privilege('{schema}.stripe_operations', "
                f"{_lit(column.name)}, 'SELECT') THEN {column.name} ELSE '' END"
                f"::varchar({column.type.length}) AS {column.name}")
        else:
            columns.append(column.name)
    return (f"DROP VIEW IF EXISTS {schema}.{READ_VIEW};\n"
            f"CREATE VIEW {schema}.{READ_VIEW} AS SELECT {', '.join(columns)} "
            f"FROM {schema}.stripe_operations;")


def _grants_sql(prefix: str, schema: str) -> list[str]:
    tables = [t.name for t in metadata.sorted_tables] + ["alembic_version"]
    groups = [group(prefix, role) for role in Role]
    every = ", ".join(_q(g) for g in groups)
    sql = [f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC",
           f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC",
           f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
           f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {every}",
           f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {every}",
           f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {schema} FROM PUBLIC",
           f"GRANT USAGE ON SCHEMA {schema} TO {every}",
           f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {every}",
           f"GRANT SELECT ON {schema}.{READ_VIEW} TO {every}"]
    open_columns = ", ".join(c.name for c in metadata.tables["stripe_operations"].columns
                             if c.name not in policy.SECRET_OPERATION_COLUMNS)
    by_role = policy.grants()
    for role in Role:
        name = _q(group(prefix, role))
        for table in tables:
            if table == "stripe_operations" and not policy.sees_stripe_ids(role):
                sql.append(f"GRANT SELECT ({open_columns}) ON {schema}.{table} TO {name}")
            else:
                sql.append(f"GRANT SELECT ON {schema}.{table} TO {name}")
        for table, clauses in by_role[role].items():
            for clause in clauses:
                sql.append(f"GRANT {clause} ON {schema}.{table} TO {name}")
        if by_role[role]:
            sql.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {name}")
    return sql


def provision(conn) -> str:
    """Create or refresh the workspace's roles, grants and guards (idempotent); returns the
    prefix. ``conn``: an administrator's connection inside a transaction."""
    admin = check_admin(conn)
    prefix = _ensure_prefix(conn)
    schema = _q(conn.scalar(sa.text("SELECT current_schema()")))
    for role in Role:
        name = group(prefix, role)
        if conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n AND NOT rolsuper"),
                       {"n": name}):
            continue
        conn.exec_driver_sql(f"CREATE ROLE {_q(name)} NOLOGIN")
    statements = [_can_sql(prefix, schema).replace("{admin}", _lit(admin)),
                  _milestone_guard(schema), _setting_capability_sql(schema),
                  _other_guards(schema), _read_view_sql(schema),
                  member_functions_sql(prefix, schema, admin)]
    for table, name, when, level, function in _TRIGGERS:
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {schema}.{table};\n"
                          f"CREATE TRIGGER {name} {when} ON {schema}.{table} "
                          f"FOR EACH {level} EXECUTE FUNCTION {schema}.{function}();")
    for statement in statements:
        conn.exec_driver_sql(statement.replace("%", "%%"))
    for statement in _grants_sql(prefix, schema):
        conn.exec_driver_sql(statement)
    return prefix
