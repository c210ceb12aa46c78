"""Text search never matches inside a masked value: the prefix attack finds nothing,
through the API, the job list page and ``flask jobs list --q``, on every database."""

from __future__ import annotations

import json
import string
from collections.abc import Callable

import pytest

from dashboard.api import tokens
from tests.support.factories import save_job
from tests.support.web import run_digest, text

pytestmark = pytest.mark.all_databases

SECRET = "hunter2x"
#: What the attacker tries at each position (the secret's own characters among them).
ALPHABET = string.ascii_lowercase + string.digits + "-_"

Search = Callable[[str], bool]


@pytest.fixture
def stored(session, clock):
    """A job whose payload holds the secret under a masked key, and in another field."""
    return save_job(session, clock, ("test_echo", {
        "customer": "cust-7", "email": "c7@example.test", "password": SECRET,
        "note": f"first password was {SECRET}"}))


@pytest.fixture
def api_search(app, session, clock) -> Search:
    _, secret = tokens.create(session, "reader", "viewer", now=clock.now)
    session.commit()
    client = app.test_client()

    def found(q: str) -> bool:
        response = client.get("/api/v1/jobs", query_string={"q": q, "limit": 1},
                              headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return bool(response.get_json()["jobs"])
    return found


@pytest.fixture
def page_search(viewer) -> Search:
    def found(q: str) -> bool:
        response = viewer.get("/jobs", query_string={"q": q})
        assert response.status_code == 200, text(response)
        return "No jobs" not in text(response)
    return found


@pytest.fixture
def cli_search(runner) -> Search:
    def found(q: str) -> bool:
        result = runner.invoke(args=["jobs", "list", "--q", q, "--json"])
        assert result.exit_code == 0, result.output
        return bool(json.loads(result.stdout)["jobs"])
    return found


def prefix_attack(found: Search, known: str) -> str:
    """Guess what follows ``known`` one character at a time, as long as a search says yes."""
    guessed = ""
    for _ in range(len(SECRET) + 1):
        hit = next((c for c in ALPHABET if found(known + guessed + c)), None)
        if hit is None:
            return guessed
        guessed += hit
    return guessed


@pytest.mark.parametrize("channel", ["api_search", "page_search", "cli_search"])
def test_the_prefix_attack_recovers_nothing(request, stored, channel) -> None:
    found: Search = request.getfixturevalue(channel)
    assert found("c7@example.test"), "the search itself works"
    assert found('"password": "')  # the key is no secret; its value is
    assert prefix_attack(found, '"password": "') == ""
    assert prefix_attack(found, "first password was ") == ""
    assert not found(SECRET)
    assert not found(SECRET.upper())


@pytest.mark.parametrize("channel", ["api_search", "page_search", "cli_search"])
def test_a_secret_in_a_failure_reason_is_not_found(request, session, clock, channel) -> None:
    save_job(session, clock, ("test_leaks", {"customer": "cust-8", "password": SECRET}))
    run_digest(session, clock)
    found: Search = request.getfixturevalue(channel)
    assert found("login refused for password"), "the reason itself is searched"
    assert prefix_attack(found, "login refused for password '") == ""
    assert not found(SECRET)


def test_remask_hides_what_a_new_masked_key_covers(app, session, clock, runner,
                                                   cli_search) -> None:
    """Copies are made at enqueue: after QUEUE_MASKED_KEYS gains a word, ``jobs remask``
    rebuilds them, and hides the newly secret values in the stored errors."""
    save_job(session, clock, ("test_fails_with", {"pin": "9876-5432",
                                                  "reason": "pin 9876-5432 refused"}))
    run_digest(session, clock)
    assert cli_search('"pin": "9876') and cli_search("pin 9876")
    app.config["QUEUE_MASKED_KEYS"] = (*app.config["QUEUE_MASKED_KEYS"], "pin")
    result = runner.invoke(args=["jobs", "remask"])
    assert result.exit_code == 0, result.output
    assert "remask: 1 requests rewritten" in result.output
    session.rollback()  # the searches share the test's session: end its old snapshot
    assert not cli_search("9876")
    assert cli_search('"pin": "') and cli_search("refused")
