"""Fixtures for the dashboard's pages: users of each role and logged-in clients."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from dashboard import queue
from dashboard.auth.models import Role, User
from dashboard.db import utcnow
from tests.support.web import add_user, log_in


@pytest.fixture
def users(session) -> dict[str, User]:
    return {role.value: add_user(session, role.value, role) for role in Role}


@pytest.fixture
def as_role(app, users):
    """as_role("operator") -> a test client logged in as that role."""
    def make(role: str) -> FlaskClient:
        return log_in(app.test_client(), users[role])
    return make


@pytest.fixture
def operator(as_role) -> FlaskClient:
    return as_role("operator")


@pytest.fixture
def viewer(as_role) -> FlaskClient:
    return as_role("viewer")


@pytest.fixture
def admin(as_role) -> FlaskClient:
    return as_role("admin")


@pytest.fixture(autouse=True)
def queue_clock(clock):
    """The pages and the digest they run read the test's clock."""
    queue.configure(clock=clock)
    yield clock
    queue.configure(clock=utcnow)
