"""``opentrain-desk team …`` as a person runs it: a real process against PostgreSQL."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from opentrain_desk.persistence import database, team_members
from opentrain_desk.persistence.orm import invoice_counters, invoices, milestones
from opentrain_desk.persistence.read_side import SqlReadSide
from opentrain_desk.persistence.team_security import role_prefix
from opentrain_desk.sandbox.demo import seed_demo
from opentrain_desk.services import jobs as job_services
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
from tests.integration.team_fixtures import drop_team_roles, sqlstate

ROOT = Path(__file__).resolve().parents[2]


def team(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "opentrain_desk", "team", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def team_in_process(capsys, caplog, *args: str) -> subprocess.CompletedProcess:
    """``team(*args)`` through the same entry point (``app.main``) in this process: for the
    many refusals, where starting Python again for each (0.7 s) proves nothing more. What
    the process would print on stderr besides the refusal (a warning logged by anything,
    with logging unconfigured) must not be there either."""
    from opentrain_desk.app import main
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        code = main(["team", *args])
    out, err = capsys.readouterr()
    logged = [record.getMessage() for record in caplog.records
              if record.levelno >= logging.WARNING]
    return subprocess.CompletedProcess(args, code, out, err + "".join(
        f"{line}\n" for line in logged))


def credentials(output: str) -> team_members.Credentials:
    login = re.search(r"login:\s+(\S+)", output).group(1)
    password = re.search(r"password:\s+(\S+)", output).group(1)
    return team_members.Credentials(login, password)


def member_engine(url: str, creds: team_members.Credentials) -> sa.Engine:
    return database.create_engine(sa.engine.make_url(url).set(
        username=creds.login, password=creds.password))


def stored_verifier(url: str, login: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :n"),
                            {"n": login})
    engine.dispose()
    return value


@pytest.fixture
def cleanup(postgres_url):
    yield
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        prefix = role_prefix(conn)
    engine.dispose()
    if prefix:
        drop_team_roles(prefix)


def test_init_add_and_every_bad_input(postgres_url, cleanup, capsys, caplog):
    done = team("init", "--db", postgres_url, "--owner", "Olga Owner")
    assert done.returncode == 0, done.stderr
    owner = credentials(done.stdout)
    assert "First Owner" in done.stdout and done.stderr == ""
    done = team("add", "--db", postgres_url, "--name", "Anna Count", "--role", "accountant")
    assert done.returncode == 0, done.stderr
    accountant = credentials(done.stdout)
    # the printed password is the login's (the test server trusts local connections, so
    # the stored SCRAM verifier is what proves it) and the login works as an Accountant
    assert team_members.matches(accountant.password, stored_verifier(postgres_url,
                                                                     accountant.login))
    engine = member_engine(postgres_url, accountant)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT current_user")) == accountant.login
        with pytest.raises(sa.exc.DBAPIError) as refused:
            conn.execute(sa.text("SELECT idempotency_key FROM stripe_operations"))
        assert sqlstate(refused.value) == "42501"
    engine.dispose()
    # an Owner's own login administers the team too
    owner_url = sa.engine.make_url(postgres_url).set(
        username=owner.login, password=owner.password).render_as_string(hide_password=False)
    done = team("add", "--db", owner_url, "--name", "Mia Manager", "--role", "Manager")
    assert done.returncode == 0, done.stderr
    done = team("list", "--db", postgres_url)
    assert done.returncode == 0 and "Mia Manager" in done.stdout
    assert re.search(rf"{accountant.login}\s+Anna Count\s+accountant\s+active", done.stdout)

    def refused_with(args, text, run=partial(team_in_process, capsys, caplog)):
        result = run(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert text in result.stderr and len(result.stderr.strip().splitlines()) == 1, \
            result.stderr
        assert result.stdout == ""

    db = ["--db", postgres_url]
    refused_with(["add", *db, "--name", "X", "--role", "boss"], "“boss” is not a role",
                 run=team)  # one refusal as a real process: one line on stderr, exit 2
    refused_with(["add", *db, "--name", "anna count", "--role", "viewer"],
                 "A member named anna count already exists")
    refused_with(["add", "--db", "not a url", "--name", "X", "--role", "viewer"],
                 "is not a database URL")
    refused_with(["add", "--db", "sqlite:///x.sqlite", "--name", "X", "--role", "viewer"],
                 "Team workspaces live on PostgreSQL")
    refused_with(["list", "--db", "postgresql://postgres@127.0.0.1:1/test"],
                 "Cannot connect to")
    accountant_url = sa.engine.make_url(postgres_url).set(
        username=accountant.login, password=accountant.password).render_as_string(
        hide_password=False)
    refused_with(["add", "--db", accountant_url, "--name", "X", "--role", "owner"],
                 "Your role cannot manage the team.")
    refused_with(["init", "--db", accountant_url, "--owner", "X"], "may not create roles")
    refused_with(["init", *db, "--owner", "Again"], "already has a team with an Owner")
    refused_with(["role", *db, "--login", owner.login, "--role", "viewer"],
                 "is the last active Owner")
    refused_with(["deactivate", *db, "--login", "nobody"], "The login nobody is not a member")
    done = team("deactivate", *db, "--login", accountant.login)
    assert done.returncode == 0, done.stderr
    with pytest.raises(sa.exc.OperationalError, match="not permitted to log in"):
        with member_engine(postgres_url, accountant).connect():
            pass
    assert "--owner" in team("init", "--help").stdout
    help_text = subprocess.run([sys.executable, "-m", "opentrain_desk", "--help"],
                               capture_output=True, text=True,
                               env=os.environ | {"PYTHONPATH": str(ROOT)}).stdout
    assert "opentrain-desk team" in help_text


def _money(engine) -> tuple[int, int, dict[str, int]]:
    with engine.connect() as conn:
        return (conn.scalar(sa.select(sa.func.sum(milestones.c.amount_cents))),
                conn.scalar(sa.select(sa.func.count()).select_from(invoices)),
                dict(conn.execute(sa.select(invoice_counters.c.series,
                                            invoice_counters.c.last_seq)).all()))


def test_migrate_moves_the_demo_workspace_and_numbering_continues(tmp_path, postgres_url,
                                                                 cleanup):
    source_file = tmp_path / "solo.sqlite"
    source = database.create_engine(f"sqlite:///{source_file.as_posix()}")
    database.migrate(source)
    seed_demo(UnitOfWorkFactory(source, actor="olga"))
    before = _money(source)
    source.dispose()
    assert before[1] > 0 and before[2]

    done = team("migrate", "--from", str(source_file), "--to", postgres_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISMATCH" not in done.stdout and "invoices: rows" in done.stdout
    assert "milestones: total amount (cents)" in done.stdout
    assert re.search(r"invoice series \S+: last number", done.stdout)
    target = database.create_engine(postgres_url)
    assert _money(target) == before

    # a non-empty target is refused, nothing written
    again = team("migrate", "--from", str(source_file), "--to", postgres_url)
    assert again.returncode == 2 and "already holds books" in again.stderr
    assert _money(target) == before

    # the moved workspace becomes a team; its Owner carries on where the file stopped
    done = team("init", "--db", postgres_url, "--owner", "Olga Owner")
    assert done.returncode == 0, done.stderr
    owner_engine = member_engine(postgres_url, credentials(done.stdout))
    factory = UnitOfWorkFactory(owner_engine, actor=credentials(done.stdout).login)
    series, last = sorted(before[2].items())[0]
    with factory() as uow:
        assert uow.invoices.next_seq(series) == last + 1  # no gap, no reuse
        uow.commit()
    job_id = job_services.create_job(factory(), "After the move")  # ids continue too
    read = SqlReadSide(owner_engine)
    assert read.job(job_id).title == "After the move"
    assert read.count_payment_history() > 0 and read.count_invoices() == before[1]
    owner_engine.dispose()
    target.dispose()


def test_migrate_bad_input(tmp_path, postgres_url):
    done = team("migrate", "--from", str(tmp_path / "missing.sqlite"), "--to", postgres_url)
    assert done.returncode == 2 and "There is no workspace file" in done.stderr
    done = team("migrate", "--from", str(tmp_path / "x.sqlite"), "--to", "mysql://h/db")
    assert done.returncode == 2 and "PostgreSQL" in done.stderr
