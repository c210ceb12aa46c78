"""The Types page (issue 28, item 12): each request type's attempts, failure rate, run
times and queue latency over the last hour and day, figures a hand computation of the
seeded attempts gives."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queries import types
from dashboard.queue.jobs.models import Attempt
from dashboard.queue.store import pauses
from tests.support.factories import save_job
from tests.support.plans import sent_statement
from tests.support.statements import sent_statements
from tests.support.web import text


def seed_attempts(session, clock, type_code: str,
                  runs: list[tuple[float, float, bool]],
                  waits: dict[int, float] | None = None) -> None:
    """Attempts of ``type_code``: (minutes ago it finished, seconds it ran, succeeded);
    ``waits``: by the attempt's index in ``runs``, the seconds it waited after it was due
    (the others have no due time, as those stored before it was recorded)."""
    job = save_job(session, clock, (type_code, {}))
    session.commit()
    request_id = job.requests[0].id
    for number, (ago, seconds, ok) in enumerate(runs, start=1):
        finished = clock.now - timedelta(minutes=ago)
        started = finished - timedelta(seconds=seconds)
        waited = (waits or {}).get(number - 1)
        session.add(Attempt(request_id=request_id, number=number, outcome="succeeded" if ok
                            else "failed", finished_at=finished, started_at=started,
                            due_at=None if waited is None else started - timedelta(
                                seconds=waited)))
    session.commit()


def figures(page: str) -> dict[str, dict[str, str]]:
    """{type code: {column: text}} of the page's table."""
    rows = re.findall(r'<tr data-type="([^"]+)">(.*?)</tr>', page, re.S)
    return {code: {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in
                   re.findall(r'<td[^>]* data-([\w-]+)>(.*?)</td>', row, re.S)}
            for code, row in rows}


@pytest.fixture
def seeded(session, clock):
    # test_echo: 20 attempts in the last hour, run 1 to 20 s, the 5 longest failed; one of
    # 30 s three hours ago; one 25 hours ago, out of both windows. The first 16 of the
    # hour waited 3, 6... 48 s after they were due, the one of three hours ago 10 min, the
    # old one an hour; the other 4 of the hour have no due time.
    waits = {n - 1: n * 3.0 for n in range(1, 17)} | {20: 600.0, 21: 3600.0}
    seed_attempts(session, clock, "test_echo",
                  [(n * 2, n, n <= 15) for n in range(1, 21)] + [(180, 30, True),
                                                                 (25 * 60, 500, False)],
                  waits)
    # test_not_applicable: three failures two hours ago, of 0.2, 0.4 and 0.6 s.
    seed_attempts(session, clock, "test_not_applicable",
                  [(120, 0.2, False), (121, 0.4, False), (122, 0.6, False)])


@pytest.mark.all_databases
def test_figures_of_the_last_hour_match_the_attempts(viewer, seeded):
    found = figures(text(viewer.get("/types?window=1h")))
    # Nearest rank over 1..20 s: p50 the 10th value, p95 the 19th. Latency over 16 waits
    # of 3..48 s: p50 the 8th (24 s), p95 the 16th (48 s).
    assert found["test_echo"] == {"attempts": "20", "failed": "5", "failure-rate": "25.0%",
                                  "run-p50": "10.0 s", "run-p95": "19.0 s",
                                  "latency-p50": "24.0 s", "latency-p95": "48.0 s",
                                  "latency-of": "16", "paused": "no"}
    assert found["test_not_applicable"] == {
        "attempts": "0", "failed": "0", "failure-rate": "—", "run-p50": "—", "run-p95": "—",
        "latency-p50": "—", "latency-p95": "—", "latency-of": "—", "paused": "no"}


@pytest.mark.all_databases
def test_figures_of_the_last_day_match_the_attempts(viewer, seeded):
    found = figures(text(viewer.get("/types?window=24h")))
    # 21 values, 1..20 and 30 s: p50 the 11th (11 s), p95 the 20th (20 s); 5 of 21 failed.
    # 17 waits, 3..48 s and 10 min: p50 the 9th (27 s), p95 the 17th (10 min).
    assert found["test_echo"] == {"attempts": "21", "failed": "5", "failure-rate": "23.8%",
                                  "run-p50": "11.0 s", "run-p95": "20.0 s",
                                  "latency-p50": "27.0 s", "latency-p95": "10 min 0 s",
                                  "latency-of": "17", "paused": "no"}
    # No due time stored: no latency, rather than one of nothing.
    assert found["test_not_applicable"] == {
        "attempts": "3", "failed": "3", "failure-rate": "100.0%", "run-p50": "400 ms",
        "run-p95": "600 ms", "latency-p50": "—", "latency-p95": "—", "latency-of": "—",
        "paused": "no"}


@pytest.mark.parametrize(("values", "p50", "p95"), [
    ([], None, None),                        # nothing to rank
    ([7.0], 7.0, 7.0),                       # one value is every percentile
    ([1.0, 2.0], 1.0, 2.0),                  # ceil(0.5 * 2) = 1st, ceil(0.95 * 2) = 2nd
    ([float(n) for n in range(1, 101)], 50.0, 95.0),
    ([1.0, 1.0, 1.0, 100.0], 1.0, 100.0),    # the slow one is the 95th percentile
])
def test_percentiles_are_nearest_rank(values, p50, p95):
    assert (types.percentile(values, 0.5), types.percentile(values, 0.95)) == (p50, p95)


def test_each_type_links_to_its_jobs_and_says_whether_it_is_paused(viewer, seeded, session,
                                                                    clock):
    pauses.pause_type(session, "test_echo", by="ops", now=clock.now)
    session.commit()
    page = text(viewer.get("/types"))
    assert 'href="/jobs?type=test_echo"' in page
    assert 'href="/jobs?type=test_echo&amp;state=failed"' in page
    found = figures(page)
    assert found["test_echo"]["paused"].startswith("paused")
    assert found["test_not_applicable"]["paused"] == "no"
    assert 'aria-current="page">Types</a>' in page


@pytest.mark.parametrize("query", ["window=2h", "window=", "window=24H"])
def test_an_unknown_window_gets_a_400_naming_it(viewer, query):
    response = viewer.get(f"/types?{query}")
    assert response.status_code == 400
    assert f"{query.replace('=', '=&#39;')}&#39;: is not one of 1h, 24h" in text(response)


def test_a_window_with_a_nul_gets_a_400(viewer):
    assert viewer.get("/types?window=1h%00").status_code == 400


def test_anonymous_goes_to_the_login(app):
    response = app.test_client().get("/types")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/types"


def test_the_htmx_poll_gets_the_table_alone(viewer, seeded):
    page = text(viewer.get("/types?window=24h", headers={"HX-Request": "true"}))
    assert page.startswith('<div id="types"') and "<html" not in page
    assert 'hx-get="/types?window=24h"' in page


def test_a_busy_window_is_read_to_the_scan_cap_and_says_so(viewer, seeded, monkeypatch):
    monkeypatch.setattr(types, "SCANNED", 4)
    page = text(viewer.get("/types?window=24h"))
    # The newest four: test_echo's attempts of 2, 4, 6 and 8 minutes ago (1 to 4 s).
    assert figures(page)["test_echo"]["attempts"] == "4"
    assert figures(page)["test_not_applicable"]["attempts"] == "0"
    assert "the newest 4 of them" in page


def test_the_scan_walks_the_index_newest_first(app, seeded, clock):
    """One statement, read from ``ix_attempts_finished_at`` backwards: no sort of the
    window's attempts before the first come out."""
    statement, parameters = sent_statement(
        lambda connection: types.by_type(
            sa.orm.Session(connection), clock.now, "24h"), "ORDER BY attempts.finished_at")
    with db.engine.connect() as connection:
        plan = "\n".join(row[-1] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_attempts_finished_at" in plan and "TEMP B-TREE" not in plan, plan



def statements_of(client, url: str) -> list[str]:
    """The statements a request of ``url`` sends."""
    with sent_statements() as sent:
        assert client.get(url).status_code == 200
    return sent()


def test_the_page_asks_the_same_queries_however_many_types(viewer, seeded, session, clock):
    """One scan of the attempts for every type, never a query per type."""
    before = statements_of(viewer, "/types?window=24h")
    for code in ("test_boom", "test_flaky", "test_sleeps"):
        seed_attempts(session, clock, code, [(5, 1, True), (6, 2, False)])
    after = statements_of(viewer, "/types?window=24h")
    assert len(after) == len(before)
    assert sum("FROM attempts" in s for s in after) == 1
