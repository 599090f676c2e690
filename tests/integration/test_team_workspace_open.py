"""Opening a team workspace as a member who is not an Owner (the sandbox one included)."""
from __future__ import annotations

import sqlalchemy as sa

from opentrain_desk.config import Settings
from opentrain_desk.domain.roles import Role
from opentrain_desk.workspace import Workspace
from tests.integration.team_fixtures import team  # noqa: F401 - fixture


def _settings(team, role: Role, home) -> Settings:  # noqa: F811
    creds = team.members[role]
    url = sa.engine.make_url(team.url).set(username=creds.login, password=creds.password)
    return Settings(home=home, db_url=url.render_as_string(hide_password=False),
                    actor=creds.login, sandbox=True)


def _mail_settings(team) -> dict[str, str]:  # noqa: F811
    with team.admin.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT key, value FROM workspace_settings WHERE key LIKE 'mail.%'")).all())


def test_a_manager_opens_the_sandbox_team_workspace_without_writing_mail_settings(
        team, sandbox, tmp_path):  # noqa: F811
    """The sandbox points the mail settings at its own SMTP server at open; those settings
    are the Owner's (the database refuses them to the others), so a Manager's or a Finance
    member's seat used to fail to open at all."""
    for role in (Role.MANAGER, Role.FINANCE, Role.VIEWER):
        workspace = Workspace(_settings(team, role, tmp_path / role.name), sandbox_server=sandbox)
        try:
            assert workspace.mail.is_sandbox
        finally:
            workspace.close()
    assert _mail_settings(team) == {}
    owner = Workspace(_settings(team, Role.OWNER, tmp_path / "owner"), sandbox_server=sandbox)
    try:
        assert _mail_settings(team)["mail.smtp_host"] == owner.mail_server.host
    finally:
        owner.close()
