"""Admins manage users on the web; anyone with a shell does it with ``flask users``."""

from __future__ import annotations

import sqlalchemy as sa

from dashboard.audit import AuditEntry
from dashboard.auth.models import User
from tests.support.web import post, text


def names(session) -> dict[str, str]:
    session.rollback()
    return {name: role for name, role in session.execute(sa.select(User.name, User.role))}


def test_admin_creates_changes_and_removes_a_user(admin, session, users):
    post(admin, "/users", {"name": "dora", "role": "operator", "password": "long enough"})
    assert names(session)["dora"] == "operator"
    dora = session.scalar(sa.select(User).where(User.name == "dora"))
    assert dora.check_password("long enough") and dora.password_hash.startswith("scrypt")
    post(admin, f"/users/{dora.id}/role", {"role": "viewer"})
    assert names(session)["dora"] == "viewer"
    post(admin, f"/users/{dora.id}/delete", {"confirm": "yes"})
    assert "dora" not in names(session)
    assert list(session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id))) == [
        "user-create", "user-role", "user-delete"]


def test_bad_user_input_gets_a_message(admin, users, session):
    for form, message in [
        ({"name": "x", "role": "operator", "password": "short"}, "at least 8 characters"),
        ({"name": "x", "role": "boss", "password": "long enough"}, "Unknown role &#39;boss&#39;"),
        ({"name": "viewer", "role": "viewer", "password": "long enough"}, "already exists"),
    ]:
        page = text(post(admin, "/users", form, follow_redirects=True))
        assert message in page
    assert set(names(session)) == {"viewer", "operator", "admin"}


def test_removing_a_user_asks_first(admin, users, session):
    viewer = users["viewer"]
    page = text(post(admin, f"/users/{viewer.id}/delete"))
    assert "Remove user viewer?" in page and "Yes, remove viewer" in page
    assert 'name="confirm" value="yes"' in page
    assert "viewer" in names(session)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
    post(admin, f"/users/{viewer.id}/delete", {"confirm": "no"})
    assert "viewer" in names(session)
    post(admin, f"/users/{viewer.id}/delete", {"confirm": "yes"})
    assert "viewer" not in names(session)


def test_admin_cannot_demote_or_remove_themselves(admin, users, session):
    me = users["admin"].id
    assert "You can&#39;t take away your own admin role." in text(
        post(admin, f"/users/{me}/role", {"role": "viewer"}, follow_redirects=True))
    assert "You can&#39;t remove yourself." in text(
        post(admin, f"/users/{me}/delete", follow_redirects=True))
    assert names(session)["admin"] == "admin"


def test_operators_and_viewers_cannot_manage_users(as_role, users, session):
    for role in ("viewer", "operator"):
        client = as_role(role)
        assert post(client, "/users", {"name": "eve", "role": "admin",
                                       "password": "long enough"}).status_code == 403
        assert post(client, f"/users/{users['viewer'].id}/delete").status_code == 403
    assert "eve" not in names(session)


def test_cli_creates_a_user_from_standard_input(runner, session):
    result = runner.invoke(args=["users", "create", "ops", "--role", "operator",
                                 "--password-stdin"], input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "created user ops (operator)" in result.output
    user = session.scalar(sa.select(User).where(User.name == "ops"))
    assert user.check_password("s3cret-pass")


def test_cli_asks_for_the_password_twice(runner, session):
    result = runner.invoke(args=["users", "create", "ana", "--role", "admin"],
                           input="first-pass\nother-pass\nfirst-pass\nfirst-pass\n")
    assert result.exit_code == 0, result.output
    assert "The two entered values do not match" in result.output
    assert names(session)["ana"] == "admin"


def test_cli_refuses_bad_input(runner, users, session):
    cases = [
        (["users", "create", "x", "--role", "boss", "--password-stdin"], "long enough\n",
         "'boss' is not one of"),
        (["users", "create", "x", "--role", "viewer", "--password-stdin"], "short\n",
         "at least 8 characters"),
        (["users", "create", "viewer", "--role", "viewer", "--password-stdin"], "long enough\n",
         "a user named viewer already exists"),
        (["users", "set-password", "nobody", "--password-stdin"], "long enough\n",
         "no user named nobody"),
    ]
    for args, stdin, message in cases:
        result = runner.invoke(args=args, input=stdin)
        assert result.exit_code != 0 and message in result.output, result.output
    assert "x" not in names(session)


def test_cli_sets_a_password_and_lists_users(runner, users, session):
    old_login = users["viewer"].login_id
    result = runner.invoke(args=["users", "set-password", "viewer", "--password-stdin"],
                           input="brand-new-pass\n")
    assert result.exit_code == 0, result.output
    session.rollback()
    viewer = session.scalar(sa.select(User).where(User.name == "viewer"))
    assert viewer.check_password("brand-new-pass") and viewer.login_id != old_login
    listing = runner.invoke(args=["users", "list"]).output
    assert "admin\tadmin" in listing and "viewer\tviewer" in listing


def test_users_page_lists_everyone(admin, users):
    page = text(admin.get("/users"))
    assert all(f"<td>{name}</td>" in page for name in ("viewer", "operator", "admin"))
