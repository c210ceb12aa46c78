"""``flask tokens create|list|revoke``: the secret printed once, alone; only its hash kept."""

from __future__ import annotations

import getpass

import pytest

from dashboard.api import tokens
from tests.support.api import ApiClient, audit_rows

ME = f"cli:{getpass.getuser()}"


def create(runner, name: str = "shop", role: str = "enqueue", *extra: str):
    return runner.invoke(args=["tokens", "create", name, "--role", role, *extra])


def test_create_prints_the_token_alone_and_it_works(app, runner, session):
    result = create(runner, "shop", "viewer")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n" and secret.startswith("aqd_")
    assert "shown only once" in result.stderr
    assert ApiClient(app.test_client(), secret).get("/api/v1/jobs").status_code == 200
    assert audit_rows(session) == [(ME, "token-create", None)]


def test_list_shows_no_secret(runner):
    secret = create(runner, "shop").stdout.strip()
    create(runner, "crm", "operator")
    result = runner.invoke(args=["tokens", "list"])
    assert result.exit_code == 0
    assert [line.split("\t")[:2] for line in result.stdout.splitlines()] == [
        ["crm", "operator"], ["shop", "enqueue"]]
    assert "last used never" in result.stdout and "active" in result.stdout
    assert secret not in result.output and secret[4:12] not in result.output


def test_list_says_when_there_is_none(runner):
    result = runner.invoke(args=["tokens", "list"])
    assert (result.exit_code, result.stdout) == (0, "")
    assert "no tokens yet" in result.stderr


def test_revoke_stops_the_token_at_once(app, runner, session):
    secret = create(runner, "shop").stdout.strip()
    result = runner.invoke(args=["tokens", "revoke", "shop"], input="y\n")
    assert result.exit_code == 0 and result.stdout == "revoked token shop\n"
    assert "Revoke token shop (enqueue, every source)?" in result.stderr
    response = ApiClient(app.test_client(), secret).post("/api/v1/jobs", {"requests": []})
    assert response.status_code == 401
    assert "revoked" in runner.invoke(args=["tokens", "list"]).stdout
    assert [row[1] for row in audit_rows(session)] == ["token-create", "token-revoke"]


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_revoke_asks_first_and_a_no_keeps_the_token(app, runner, session, answer):
    secret = create(runner, "shop").stdout.strip()
    result = runner.invoke(args=["tokens", "revoke", "shop"], input=answer)
    assert result.exit_code != 0 and result.stdout == ""
    assert "Revoke token shop" in result.stderr
    assert ApiClient(app.test_client(), secret).get("/api/v1/jobs/1").status_code != 401
    assert [row[1] for row in audit_rows(session)] == ["token-create"]


@pytest.mark.parametrize(("args", "code", "words"), [
    (["revoke", "nobody"], 1, "no token named nobody"),
    (["create", "shop", "--role", "enqueue"], 1, "a token named shop already exists"),
    (["create", "new", "--role", "root"], 2, "Invalid value for '--role'"),
    (["create", "two words", "--role", "viewer"], 2, "without spaces"),
    (["create", "x" * 65, "--role", "viewer"], 2, "1 to 64 printable characters"),
])
def test_mistakes_are_refused_saying_why(runner, args, code, words):
    create(runner, "shop")
    result = runner.invoke(args=["tokens", *args])
    assert result.exit_code == code
    assert words in result.stderr
    assert result.stdout == ""


def test_revoking_twice_is_refused(runner):
    create(runner, "shop")
    runner.invoke(args=["tokens", "revoke", "shop", "--yes"])
    result = runner.invoke(args=["tokens", "revoke", "shop", "--yes"])
    assert result.exit_code == 1 and "already revoked" in result.stderr


def test_replace_gives_a_new_token_and_the_old_one_stops(app, runner, session):
    old = create(runner, "demo", "operator").stdout.strip()
    result = create(runner, "demo", "operator", "--replace")
    assert result.exit_code == 0
    new = result.stdout.strip()
    assert new != old
    assert ApiClient(app.test_client(), old).get("/api/v1/jobs").status_code == 401
    assert ApiClient(app.test_client(), new).get("/api/v1/jobs").status_code == 200
    assert tokens.named(session, "demo").role == "operator"
