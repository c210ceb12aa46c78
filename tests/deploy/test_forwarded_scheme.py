"""gunicorn believes X-Forwarded-Proto only from the proxies of DASHBOARD_PROXIES, as the
app does: unset, no local process can make the API's URLs claim HTTPS."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from dashboard.api import tokens
from tests.support.servers import Gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture
def serve(app, db_url, tmp_path) -> Iterator[Callable[..., Gunicorn]]:
    started: list[Gunicorn] = []

    def start(**settings: str) -> Gunicorn:
        started.append(Gunicorn(db_url, tmp_path, WEB_CONCURRENCY=1,
                                QUEUE_TYPES="tests.support.types", **settings))
        return started[-1]
    yield start
    for server in started:
        server.stop()


def job_url(server: Gunicorn, secret: str) -> str:
    """The URL the API answers for a new job, asked from 127.0.0.1 claiming HTTPS."""
    body = json.dumps({"requests": [{"type_code": "test_echo", "payload": {}}]}).encode()
    request = urllib.request.Request(f"{server.url}/api/v1/jobs", data=body, headers={
        "Authorization": f"Bearer {secret}", "Content-Type": "application/json",
        "X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["url"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("proxies", "scheme"), [(None, "http"), ("127.0.0.1", "https")])
def test_the_forwarded_scheme_is_believed_from_listed_proxies_only(serve, session, clock,
                                                                   proxies, scheme):
    _, secret = tokens.create(session, "feeder", "operator", now=clock.now)
    session.commit()
    server = serve(**({"DASHBOARD_PROXIES": proxies} if proxies else {}))
    assert job_url(server, secret).startswith(f"{scheme}://127.0.0.1:{server.port}/")
