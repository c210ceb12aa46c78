"""Logging in: every page but the login page and the health check needs a session."""

from __future__ import annotations

import pytest

from dashboard.web.security import CONTENT_SECURITY_POLICY
from tests.support.web import PASSWORD, csrf_token, post, text

PAGES = ["/", "/jobs", "/jobs/1", "/audit", "/users"]


def login(client, name, password=PASSWORD, address="10.0.0.1", **kwargs):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, **kwargs)


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_visitors_without_a_session_to_the_login_page(app, url):
    response = app.test_client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={url}"


def test_htmx_requests_without_a_session_are_told_where_to_log_in(app):
    response = app.test_client().get("/jobs", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/jobs"


def test_a_post_without_a_session_is_refused(app):
    response = app.test_client().post("/jobs/1/retry")
    assert response.status_code in (400, 401)  # no session: no CSRF token either


def test_health_check_needs_no_login(app):
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.json["database"]) == (200, "ok")


def test_login_with_the_right_password_goes_where_the_visitor_was_going(app, users):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/jobs%3Fstate%3Dfailed",
                           data={"name": "viewer", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/jobs?state=failed"
    assert client.get("/jobs").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/x", "/\\evil.test"])
def test_login_never_redirects_off_site(app, users, target):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"name": "viewer", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_name_get_the_same_answer(app, users):
    client = app.test_client()
    wrong = login(client, "viewer", "not it")
    unknown = login(client, "nobody", "not it")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password." in text(wrong)
    assert client.get("/").status_code == 302


def test_login_needs_the_csrf_token(app, users):
    response = app.test_client().post("/login", data={"name": "viewer", "password": PASSWORD})
    assert response.status_code == 400
    assert "security token is missing" in text(response)


def test_logout_ends_the_session(viewer):
    assert post(viewer, "/logout").headers["Location"] == "/login"
    assert viewer.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(app, users):
    response = login(app.test_client(), "viewer")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_https(app, users):
    response = login(app.test_client(), "viewer", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]


def test_pages_forbid_inline_script(viewer):
    response = viewer.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "<script>" not in text(response) and " on" + "click=" not in text(response)
    assert response.headers["X-Frame-Options"] == "DENY"


def test_removed_user_is_logged_out(app, session, viewer, users):
    session.delete(users["viewer"])
    session.commit()
    assert viewer.get("/").status_code == 302

