"""Bearer tokens: who may call what, and every refusal as JSON (401 or 403)."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from dashboard.api import tokens
from dashboard.api.models import ApiToken
from dashboard.auth.models import Role
from tests.support.api import ApiClient, job_body
from tests.support.factories import save_job
from tests.support.web import add_user, log_in


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token aqd_x",
])
def test_no_usable_authorization_header_gets_401(app, token_secrets, header):
    headers = {"Authorization": header} if header is not None else {}
    response = app.test_client().get("/api/v1/jobs", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.get_json()["error"] == "unauthorized"
    assert "Authorization: Bearer <token>" in response.get_json()["message"]


@pytest.mark.parametrize("secret", [
    "aqd_" + "x" * 43, "not-even-prefixed", "aqd_", "aqd_" + "é" * 300,
])
def test_an_unknown_token_gets_401(app, token_secrets, secret):
    response = ApiClient(app.test_client(), secret).get("/api/v1/jobs")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert response.get_json()["message"] == "the token is unknown or revoked"


def test_a_token_with_one_character_changed_gets_401(app, token_secrets):
    secret = token_secrets["operator"]
    changed = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert ApiClient(app.test_client(), changed).get("/api/v1/jobs").status_code == 401


def test_a_revoked_token_gets_401(api, session, clock):
    client = api("operator")
    assert client.get("/api/v1/jobs").status_code == 200
    tokens.revoke(session, tokens.named(session, "operator"), now=clock.now)
    session.commit()
    response = client.get("/api/v1/jobs")
    assert response.status_code == 401
    assert response.get_json()["message"] == "the token is unknown or revoked"


def test_a_dashboard_login_is_no_api_credential(app, session, token_secrets):
    client = log_in(app.test_client(), add_user(session, "alice", Role.OPERATOR))
    response = client.get("/api/v1/jobs")
    assert response.status_code == 401
    assert response.mimetype == "application/json"  # not a redirect to the login page


def test_the_openapi_description_needs_no_token(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"] == "3.1.0"


#: role -> (enqueue, list, show, act) statuses.
ROLE_TABLE = [
    ("enqueue", (201, 403, 403, 403)),   # feeds the queue, reads nothing
    ("viewer", (403, 200, 200, 403)),    # reads, changes nothing
    ("operator", (201, 200, 200, 200)),  # everything
]


@pytest.mark.parametrize(("role", "expected"), ROLE_TABLE)
def test_what_each_role_may_do(api, session, clock, role, expected):
    job = save_job(session, clock, ("test_echo", {}))
    client = api(role)
    got = (
        client.post("/api/v1/jobs", job_body(("test_echo", {"n": 1}))).status_code,
        client.get("/api/v1/jobs").status_code,
        client.get(f"/api/v1/jobs/{job.id}").status_code,
        client.post(f"/api/v1/jobs/{job.id}/pause").status_code,
    )
    assert got == expected


def test_a_refused_role_is_told_which_role_it_needs(api):
    response = api("viewer").post("/api/v1/jobs", job_body(("test_echo", {})))
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "forbidden",
        "message": "this token's role (viewer) can't enqueue jobs; it needs a token of role "
                   "enqueue, operator or admin"}


def test_only_the_hash_is_stored(session, token_secrets):
    secret = token_secrets["viewer"]
    assert secret.startswith("aqd_") and len(secret) == 4 + 43
    stored = session.scalar(sa.select(ApiToken).where(ApiToken.name == "viewer"))
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    row = session.execute(sa.select(ApiToken.__table__)).all()
    assert not any(secret in str(value) for r in row for value in r)


def test_last_use_is_written_at_most_once_a_minute(api, session, clock):
    client = api("viewer")
    start = clock.now
    client.get("/api/v1/jobs")
    session.rollback()
    assert tokens.named(session, "viewer").last_used_at == start
    clock.advance(seconds=30)
    client.get("/api/v1/jobs")
    session.rollback()
    assert tokens.named(session, "viewer").last_used_at == start
    clock.advance(seconds=31)
    client.get("/api/v1/jobs")
    session.rollback()
    assert tokens.named(session, "viewer").last_used_at == clock.now


def test_finding_a_token_only_reads_its_use_is_written_by_the_caller(session, clock,
                                                                     token_secrets):
    found = tokens.authenticate(session, token_secrets["viewer"])
    assert found.name == "viewer" and tokens.use_is_due(found, clock.now)
    session.rollback()
    assert tokens.named(session, "viewer").last_used_at is None   # nothing written
    tokens.mark_used(session, found.id, clock.now)
    session.commit()
    assert tokens.named(session, "viewer").last_used_at == clock.now
    session.rollback()
    # Read again as plain rows (on PostgreSQL on the driver): the time comes back aware.
    assert tokens.authenticate(session, token_secrets["viewer"]).last_used_at == clock.now
    assert not tokens.use_is_due(tokens.named(session, "viewer"), clock.advance(seconds=59))
