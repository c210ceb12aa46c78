"""The audit log's actors can't be spoofed: no user name looks like a token or a command."""

from __future__ import annotations

import getpass

import pytest
import sqlalchemy as sa

from dashboard.auth.models import User
from dashboard.cli.common import actor
from tests.support.web import post, text

SPOOFS = ["token:demo", "cli:root", "cli:", ":x", "a:b", "bell\x07"]


def names(session) -> set[str]:
    session.rollback()
    return set(session.scalars(sa.select(User.name)))


@pytest.mark.parametrize("name", SPOOFS)
def test_the_users_page_refuses_a_name_shaped_like_another_actor(admin, users, session, name):
    page = text(post(admin, "/users", {"name": name, "role": "admin",
                                       "password": "long enough"}, follow_redirects=True))
    assert "A user name can&#39;t hold &#39;:&#39; or control characters" in page
    assert names(session) == {"viewer", "operator", "admin"}


@pytest.mark.parametrize("name", SPOOFS)
def test_the_cli_refuses_a_name_shaped_like_another_actor(runner, session, name):
    result = runner.invoke(args=["users", "create", name, "--role", "admin",
                                 "--password-stdin"], input="long enough\n")
    assert result.exit_code == 2
    assert "can't hold ':'" in result.output
    assert names(session) == set()


def test_a_command_without_an_os_user_is_still_a_command(monkeypatch):
    def no_user() -> str:
        raise KeyError("getpwuid(): uid not found: 10001")
    monkeypatch.setattr(getpass, "getuser", no_user)
    assert actor() == "cli:unknown"  # "cli" alone is a valid user name
