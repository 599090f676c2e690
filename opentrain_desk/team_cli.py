"""``opentrain-desk team …``: set up and administer a team workspace from the command line.

Exit codes: 0 done; 1 ``migrate`` found a difference between the file and the server;
2 bad input or the database refused (one line on stderr saying why). Passwords are printed
once, to this terminal only: never logged, never stored.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import sqlalchemy as sa

from .domain.errors import DomainError
from .domain.roles import Role

ROLES = ", ".join(role.value for role in Role)


class Refused(Exception):
    """One line for stderr; exit code 2."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="opentrain-desk team",
        description="Set up and administer a team workspace on PostgreSQL: each member signs "
                    "in as their own database login and the database enforces their role.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, db: bool = True) -> argparse.ArgumentParser:
        each = sub.add_parser(name, help=help_text, description=help_text)
        if db:
            each.add_argument("--db", required=True, metavar="URL",
                              help="the workspace, e.g. postgresql://admin@host/agency (an "
                                   "administrator, or an Owner's own login)")
        return each

    init = command("init", "set up the roles, grants and guards on a workspace and create "
                            "its first Owner (prints the login and a one-time password)")
    init.add_argument("--owner", required=True, metavar="NAME", help="the first Owner's name")
    add = command("add", "add a member (prints the login it created and a one-time password)")
    add.add_argument("--name", required=True, metavar="NAME")
    add.add_argument("--role", required=True, metavar="ROLE", help=f"one of: {ROLES}")
    role = command("role", "change a member's role (takes effect on their next statement)")
    role.add_argument("--login", required=True, metavar="LOGIN")
    role.add_argument("--role", required=True, metavar="ROLE", help=f"one of: {ROLES}")
    for name, text in (("deactivate", "deactivate a member: they cannot sign in, and an open "
                                      "session is refused from its next statement"),
                       ("reactivate", "let a deactivated member sign in again"),
                       ("reset-password", "give a member a new one-time password")):
        command(name, text).add_argument("--login", required=True, metavar="LOGIN")
    command("list", "list the members, their roles and whether they can sign in")
    move = command("migrate", "move a solo workspace (SQLite file) to a new team workspace "
                              "with everything, then check counts and totals", db=False)
    move.add_argument("--from", dest="source", required=True, metavar="SQLITE_FILE")
    move.add_argument("--to", dest="target", required=True, metavar="URL")
    return p


def server_url(raw: str) -> sa.URL:
    """A PostgreSQL URL for psycopg (``postgresql://`` and ``postgres://`` accepted)."""
    try:
        url = sa.engine.make_url(raw)
    except (sa.exc.ArgumentError, ValueError):
        raise Refused(f"“{raw}” is not a database URL; use e.g. "
                      "postgresql://admin@db.example.com/agency") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "postgresql":
        raise Refused(f"Team workspaces live on PostgreSQL; “{url.drivername}” is not "
                      "(use postgresql://user@host/database).")
    if not url.database:
        raise Refused(f"The URL {url.render_as_string(hide_password=True)} names no "
                      "database.")
    return url


def _engine(raw: str) -> sa.Engine:
    from .persistence import database
    engine = database.create_engine(server_url(raw))
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise Refused(f"Cannot connect to {engine.url.render_as_string(hide_password=True)}:"
                      f" {reason}") from None
    return engine


def _role(text: str) -> Role:
    try:
        return Role.parse(text)
    except DomainError as error:
        raise Refused(str(error)) from None


def _credentials(title: str, name: str, creds, out) -> None:
    print(title, file=out)
    print(f"  name:     {name}", file=out)
    print(f"  login:    {creds.login}", file=out)
    print(f"  password: {creds.password}", file=out)
    print("  (shown once: pass it on privately; they sign in with it and change it)",
          file=out)


def _init(args, out) -> int:
    from .persistence import database, team_members, team_security
    engine = _engine(args.db)
    try:
        database.migrate(engine)
        with engine.begin() as conn:
            team_security.check_admin(conn)
            if team_security.role_prefix(conn) and conn.scalar(sa.text(
                    "SELECT count(*) FROM members WHERE active AND role = 'owner'")):
                raise Refused("This workspace already has a team with an Owner: add members "
                              "with “opentrain-desk team add”.")
            prefix = team_security.provision(conn)
            creds = team_members.add_member(conn, args.owner, Role.OWNER)
        print(f"Team workspace ready (roles {prefix}_owner … {prefix}_viewer).", file=out)
        _credentials("First Owner:", " ".join(args.owner.split()), creds, out)
        return 0
    finally:
        engine.dispose()


def _admin(args, out) -> int:
    from .persistence import team_members as tm
    engine = _engine(args.db)
    try:
        with engine.begin() as conn:
            if args.command == "add":
                role = _role(args.role)
                creds = tm.add_member(conn, args.name, role)
                _credentials(f"Added a member ({role.label}):", " ".join(args.name.split()),
                             creds, out)
            elif args.command == "role":
                role = _role(args.role)
                tm.change_role(conn, args.login, role)
                print(f"{args.login} is now {role.label}.", file=out)
            elif args.command == "deactivate":
                tm.deactivate(conn, args.login)
                print(f"{args.login} is deactivated.", file=out)
            elif args.command == "reactivate":
                tm.reactivate(conn, args.login)
                print(f"{args.login} can sign in again.", file=out)
            elif args.command == "reset-password":
                creds = tm.reset_password(conn, args.login)
                _credentials("New one-time password:", args.login, creds, out)
            else:
                rows = tm.list_members(conn)
                print(f"{'login':<36} {'name':<28} {'role':<11} status", file=out)
                for row in rows:
                    status = ("active" if row.active and row.can_login else "deactivated")
                    print(f"{row.login:<36} {row.name:<28} {row.role:<11} {status}", file=out)
        return 0
    finally:
        engine.dispose()


def _migrate(args, out) -> int:
    from .persistence.team_migrate import migrate_solo
    engine = _engine(args.target)
    try:
        lines = migrate_solo(Path(args.source).expanduser(), engine)
    finally:
        engine.dispose()
    width = max(len(line.what) for line in lines)
    print(f"{'check':<{width}}  {'file':>12}  {'server':>12}", file=out)
    for line in lines:
        mark = "ok" if line.ok else "MISMATCH"
        print(f"{line.what:<{width}}  {line.source:>12}  {line.target:>12}  {mark}", file=out)
    bad = [line for line in lines if not line.ok]
    if bad:
        print(f"{len(bad)} difference(s): the server does not match the file.", file=sys.stderr)
        return 1
    print("Everything arrived: counts and totals match. Next: opentrain-desk team init "
          f"--db {args.target} --owner \"NAME\"", file=out)
    return 0


def main(argv: Sequence[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    from .persistence.team_members import TeamError
    from .persistence.team_migrate import MigrationRefused
    from .persistence.team_security import TeamSetupError
    try:
        if args.command == "init":
            return _init(args, out)
        if args.command == "migrate":
            return _migrate(args, out)
        return _admin(args, out)
    except (Refused, TeamError, TeamSetupError, MigrationRefused) as error:
        print(f"opentrain-desk team {args.command}: {error}", file=sys.stderr)
        return 2
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        print(f"opentrain-desk team {args.command}: the database refused: {reason}",
              file=sys.stderr)
        return 2
