"""Fixtures for the HTTP API: tokens of each role, and clients that send them."""

from __future__ import annotations

import pytest

from dashboard import queue
from dashboard.api import tokens
from dashboard.db import utcnow
from tests.support.api import ApiClient


@pytest.fixture(autouse=True)
def queue_clock(clock):
    """The API, the digest it runs and the token's last use read the test's clock."""
    queue.configure(clock=clock)
    yield clock
    queue.configure(clock=utcnow)


@pytest.fixture
def token_secrets(session, clock) -> dict[str, str]:
    """role -> the secret of a live token of that role (named after the role)."""
    made = {}
    for role in ("enqueue", "viewer", "operator"):
        _, made[role] = tokens.create(session, role, role, now=clock.now)
    session.commit()
    return made


@pytest.fixture
def api(app, token_secrets):
    """api("operator") -> a client sending that role's token."""
    def make(role: str = "operator") -> ApiClient:
        return ApiClient(app.test_client(), token_secrets[role])
    return make
