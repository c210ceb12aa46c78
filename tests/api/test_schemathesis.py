"""Property-based tests of the API against its own OpenAPI description (schemathesis).

Generated input, valid and invalid, for every operation: no answer is a server error, and
every answer (status code, content type, headers, body) is one the description allows;
input the description forbids is refused.

SQLite only: the point is the API's contract, which does not depend on the database
(the database-specific edges, such as NUL characters on PostgreSQL and 32-bit ids, have
their own tests on all three databases in this folder); three databases would triple the
slowest tests of the suite for no new finding.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from dashboard.api.models import ApiToken
from dashboard.api.openapi import description
from dashboard.api.ratelimit import limiter
from dashboard.app.extensions import db
from dashboard.db import Base
from dashboard.queue import registry
from tests.support.factories import save_job
from tests.support.web import run_digest

#: Not positive_data_acceptance: input the description allows may still be refused (a
#: "from" that is no date, a type filter no request has), with a 400 it describes.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection,
          ignored_auth, unsupported_method]


class WsgiApp:
    """The WSGI app schemathesis calls (probes included): the running test's app, each
    request in a context of its own, as under a real server (see IsolatedClient)."""

    app: Flask | None = None

    def __call__(self, environ, start_response):
        return contextvars.Context().run(self.app, environ, start_response)


TEST_APP = WsgiApp()


def seed(session, clock) -> None:
    """Jobs in every state an action may find, with the small ids generated ids hit."""
    for n in range(3):
        save_job(session, clock, ("test_echo", {"n": n, "password": "p"}), relation_id="r")
    save_job(session, clock, ("test_not_applicable", {}), relation_id="failing")
    save_job(session, clock, ("test_flaky", {"fail_times": 1}))
    run_digest(session, clock)
    save_job(session, clock, ("test_echo", {"later": True}))


def reseed(session, clock) -> None:
    """Back to the seeded jobs (the tokens stay): each call sequence starts the same."""
    session.remove()
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != ApiToken.__tablename__:
                connection.execute(table.delete())
    seed(session, clock)
    # And the API's rate limit counts afresh: a replayed sequence that met a 429 where the
    # first run did not would take other links.
    limiter.reset()


@pytest.fixture
def jobs(app, session, clock) -> Iterator[None]:
    seed(session, clock)
    TEST_APP.app = app
    yield
    TEST_APP.app = None


# The description as served with the tests' request types (test_openapi checks that
# /api/v1/openapi.json is this). Loaded here rather than from the app in a fixture:
# schemathesis' fixture loader does not run on pytest 9.2 (it sets a node attribute
# pytest renamed).
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(description(registry.codes()))))
schema.app = TEST_APP


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@schema.parametrize()
@hypothesis.settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_answer_matches_the_description(case, app, jobs, token_secrets):
    case.call_and_validate(checks=CHECKS,
                           headers={"Authorization": f"Bearer {token_secrets['operator']}"})


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sequences_of_calls_follow_the_links(app, jobs, token_secrets, session, clock):
    """Enqueue, then act on the new job in any order (the description's links): every
    answer along the way matches the description."""
    secret = token_secrets["operator"]
    # ignored_auth is left to the test above: here the token is put in place of the
    # generated one, which that check would take for a forged token that got through.
    checks = [check for check in CHECKS if check is not ignored_auth]

    class Workflow(schema.as_state_machine()):
        def setup(self) -> None:
            # Hypothesis replays sequences: the database must not remember earlier ones.
            reseed(session, clock)

        def before_call(self, case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=checks, transport_kwargs=kwargs)

    Workflow.run(settings=hypothesis.settings(
        max_examples=50, stateful_step_count=8, deadline=None, derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck)))
