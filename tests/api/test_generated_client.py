"""A client generated from the served description by openapi-python-client, driving a real
gunicorn: every answer it meets is one the description declares (it raises
``UnexpectedStatus`` on any other), the 429 of the rate limit included.

SQLite only: the point is the description's contract with the server (see
test_schemathesis.py); the database-specific edges have their own tests.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from tests.deploy.image import VENV_BIN
from tests.support.processes import ROOT, digest_env
from tests.support.servers import Gunicorn

pytestmark = pytest.mark.slow

GENERATOR = VENV_BIN / "openapi-python-client"
#: Calls a minute per token: the flow below stays under it, the last test goes past it.
LIMIT = 40


def _flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "dashboard", *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not GENERATOR.exists():
        pytest.skip("openapi-python-client is not installed here: pip install -e '.[test]' "
                    "brings it; CI has it")
    folder = tmp_path_factory.mktemp("client")
    url = f"sqlite:///{folder / 'queue.db'}"
    settings = {"QUEUE_TYPES": "dashboard.queue.demo", "API_RATE_LIMIT": f"{LIMIT} per minute",
                "API_RATE_LIMIT_STORAGE": f"sqlitefile://{folder / 'limits.db'}"}
    env = digest_env(url, **settings)
    _flask(env, "db", "upgrade")
    tokens = {name: _flask(env, "tokens", "create", name, "--role", "operator")
              for name in ("flow", "hasty")}
    gunicorn = Gunicorn(url, folder, **settings)
    yield SimpleNamespace(url=gunicorn.url, env=env, tokens=tokens, folder=folder)
    gunicorn.stop()


@pytest.fixture(scope="module")
def generated(server):
    """The client package, generated from the description this server serves."""
    with urllib.request.urlopen(f"{server.url}/api/v1/openapi.json", timeout=10) as answer:
        (server.folder / "openapi.json").write_text(json.dumps(json.load(answer)))
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", "openapi.json", "--output-path", "aq_client",
         "--meta", "none"],
        cwd=server.folder, capture_output=True, text=True, timeout=300,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(server.folder)})
    # Anything the generator skipped is a part of the description it could not use.
    assert result.returncode == 0 and "Warning" not in result.stdout + result.stderr, (
        result.stdout + result.stderr)
    sys.path.insert(0, str(server.folder))
    try:
        yield SimpleNamespace(client=importlib.import_module("aq_client.client"),
                              models=importlib.import_module("aq_client.models"))
    finally:
        sys.path.remove(str(server.folder))
        for name in [n for n in sys.modules if n == "aq_client" or n.startswith("aq_client.")]:
            del sys.modules[name]
        shutil.rmtree(server.folder / "aq_client")


@contextmanager
def _client(generated, server, name: str = "flow") -> Iterator[Any]:
    """The generated client with this token; it raises on any answer not described."""
    with generated.client.AuthenticatedClient(
            base_url=server.url, token=server.tokens[name],
            raise_on_unexpected_status=True) as client:
        yield client


def _api(name: str) -> Any:
    """The generated module of one operation (``list_jobs``: ``sync``, ``sync_detailed``)."""
    return importlib.import_module(f"aq_client.api.default.{name}")


def _job(models, type_code: str, payload: dict, **fields):
    return models.NewJob(requests=[models.NewRequest(type_code=type_code, payload=payload)],
                         **fields)


def test_enqueue_batch_list_get_retry_and_cancel(generated, server):
    with _client(generated, server) as client:
        _drive(generated.models, client, server)


def _drive(models, client, server) -> None:
    """Enqueue, batch, list, get, retry and cancel, with refusals the client reads."""
    enqueue, batch = _api("enqueue_job"), _api("enqueue_jobs")
    list_jobs, get_job = _api("list_jobs"), _api("get_job")
    retry, cancel = _api("retry_job"), _api("cancel_job")

    created = enqueue.sync_detailed(client=client, body=_job(
        models, "demo_customer_sync", {"customer_id": 7}, relation_id="cust-7"))
    assert created.status_code == 201
    assert isinstance(created.parsed, models.JobCreated)
    assert (created.parsed.relation_id, created.parsed.state) == (
        "cust-7", models.JobCreatedState.PENDING)

    # A type this server does not have: refused by the server (422), not by the client.
    unknown = enqueue.sync_detailed(client=client, body=_job(models, "no_such_type", {}))
    assert unknown.status_code == 422 and isinstance(unknown.parsed, models.Error)
    assert unknown.parsed.field == "requests[0].type_code"

    later = datetime.now(UTC) + timedelta(days=1)
    saved = batch.sync_detailed(client=client, body=models.NewBatch(jobs=[
        _job(models, "demo_webhook", {"url": "https://example.test/hook"}),
        _job(models, "demo_customer_sync", {"customer_id": 8}, run_at=later)]))
    assert saved.status_code == 201
    failing, scheduled = saved.parsed.ids

    scheduled_only = list_jobs.sync(client=client, state=models.ListJobsState.SCHEDULED)
    assert [job.id for job in scheduled_only.jobs] == [scheduled]
    everything = list_jobs.sync(client=client)
    assert [job.id for job in everything.jobs] == [scheduled, failing, created.parsed.id]

    assert "1 failed" in _flask(server.env, "digest", "--job", str(failing))
    job = get_job.sync(failing, client=client)
    assert isinstance(job, models.Job) and job.state == models.JobState.FAILED

    retried = retry.sync_detailed(failing, client=client)
    assert retried.status_code == 200 and retried.parsed.job.state == models.JobState.PENDING
    # Retrying a job that is not failed: a refusal the client knows (409), not a surprise.
    again = retry.sync_detailed(scheduled, client=client)
    assert again.status_code == 409 and isinstance(again.parsed, models.Error)

    cancelled = cancel.sync_detailed(scheduled, client=client)
    assert cancelled.parsed.job.state == models.JobState.CANCELLED
    missing = get_job.sync_detailed(999_999, client=client)
    assert missing.status_code == 404 and missing.parsed.error == models.ErrorError.NOT_FOUND
    # Answers that succeed do not tell the client to wait.
    assert "Retry-After" not in cancelled.headers


def test_past_the_rate_limit_the_client_reads_a_429(generated, server):
    list_jobs = _api("list_jobs")
    with _client(generated, server, "hasty") as client:
        answers = [list_jobs.sync_detailed(client=client) for _ in range(LIMIT + 1)]
    assert [a.status_code for a in answers[:LIMIT]] == [200] * LIMIT
    refused = answers[LIMIT]
    assert refused.status_code == 429
    assert refused.parsed.error == generated.models.ErrorError.TOO_MANY_REQUESTS
    assert int(refused.headers["Retry-After"]) > 0
