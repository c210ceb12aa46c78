"""``flask jobs ...``: the job list, a job's page and the buttons, from a shell."""

from __future__ import annotations

import getpass
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.queue import Job, JobState
from tests.support.api import audit_rows
from tests.support.factories import save_job
from tests.support.running import mark_running
from tests.support.web import run_digest

ME = f"cli:{getpass.getuser()}"


@pytest.fixture
def jobs(session, clock):
    done = save_job(session, clock, ("test_echo", {"n": 1, "token": "t-1"}), relation_id="c-1",
                    store_id=1)
    failed = save_job(session, clock, ("test_not_applicable", {"n": 2}), relation_id="c-2")
    run_digest(session, clock)
    waiting = save_job(session, clock, ("test_echo", {"n": 3}), relation_id="c-3", store_id=2)
    return {"done": done, "failed": failed, "waiting": waiting}


def state_of(session, job) -> JobState:
    session.rollback()
    return session.scalar(sa.select(Job.state).where(Job.id == job.id))


def test_list_prints_the_jobs_newest_first(runner, jobs):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        [f"#{jobs['waiting'].id}", "pending"], [f"#{jobs['failed'].id}", "failed"],
        [f"#{jobs['done'].id}", "completed"]]
    assert lines[1].endswith("customer is outside the synced groups")


@pytest.mark.all_databases
def test_list_filters_as_the_page_does(runner, jobs):
    result = runner.invoke(args=["jobs", "list", "--state", "failed", "--json"])
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert [j["id"] for j in body["jobs"]] == [jobs["failed"].id]
    result = runner.invoke(args=["jobs", "list", "--store", "2", "--type", "test_echo", "--json"])
    assert [j["id"] for j in json.loads(result.stdout)["jobs"]] == [jobs["waiting"].id]


def test_list_pages_with_before(runner, jobs):
    first = runner.invoke(args=["jobs", "list", "--limit", "2", "--json"])
    body = json.loads(first.stdout)
    assert len(body["jobs"]) == 2
    assert f"add --before {body['next_before']}" in first.stderr
    rest = runner.invoke(args=["jobs", "list", "--limit", "2", "--json",
                               "--before", str(body["next_before"])])
    assert [j["id"] for j in json.loads(rest.stdout)["jobs"]] == [jobs["done"].id]


@pytest.mark.parametrize(("args", "words"), [
    (["--state", "done"], "Invalid value for --state: 'done' is not a job state"),
    (["--type", "no_such_type"], "Invalid value for --type: 'no_such_type' no request type"),
    (["--store", "x"], "Invalid value for --store"),
    (["--from", "yesterday"], "Invalid value for --from"),
    (["--before", "0"], "Invalid value for '--before'"),
])
def test_a_bad_filter_is_refused_naming_it(runner, jobs, args, words):
    result = runner.invoke(args=["jobs", "list", *args, "--json"])
    assert result.exit_code == 2
    assert words in result.stderr
    assert result.stdout == ""


def test_list_says_when_nothing_matches(runner, jobs):
    result = runner.invoke(args=["jobs", "list", "--relation", "nobody", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"jobs": [], "next_before": None}
    assert "no jobs match" in result.stderr


def test_show_masks_secrets_as_the_page_does(runner, jobs):
    result = runner.invoke(args=["jobs", "show", str(jobs["done"].id)])
    assert result.exit_code == 0
    assert f"job #{jobs['done'].id}: completed" in result.stdout
    assert '"token": "••••••"' in result.stdout and "t-1" not in result.stdout
    document = json.loads(runner.invoke(args=["jobs", "show", str(jobs["done"].id),
                                              "--json"]).stdout)
    assert document["requests"][0]["payload"] == {"n": 1, "token": "••••••"}
    assert document["requests"][0]["history"][0]["outcome"] == "succeeded"


def test_show_an_unknown_job_exits_1(runner, jobs):
    result = runner.invoke(args=["jobs", "show", "4242", "--json"])
    assert result.exit_code == 1
    assert "job 4242 does not exist" in result.stderr
    assert result.stdout == ""


def test_an_action_changes_the_jobs_and_records_the_os_user(runner, session, jobs):
    result = runner.invoke(args=["jobs", "pause", str(jobs["waiting"].id)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Job #{jobs['waiting'].id} is paused.\n"
    assert state_of(session, jobs["waiting"]) == JobState.PAUSED
    runner.invoke(args=["jobs", "resume", str(jobs["waiting"].id)])
    runner.invoke(args=["jobs", "run", str(jobs["waiting"].id)])
    assert state_of(session, jobs["waiting"]) == JobState.COMPLETED
    assert audit_rows(session) == [(ME, "pause", jobs["waiting"].id),
                                   (ME, "resume", jobs["waiting"].id),
                                   (ME, "run", jobs["waiting"].id)]


def test_refused_and_unknown_jobs_are_named_and_exit_1(runner, session, jobs):
    ids = [jobs["failed"].id, jobs["done"].id, 4242]
    result = runner.invoke(args=["jobs", "retry", *map(str, ids)])
    assert result.exit_code == 1
    assert result.stdout == f"Job #{jobs['failed'].id} is due again.\n"
    assert (f"job {jobs['done'].id}: nothing changed: can't retry job {jobs['done'].id}: "
            "it is completed") in result.stderr
    assert "job 4242: nothing changed: job 4242 does not exist" in result.stderr
    assert state_of(session, jobs["failed"]) == JobState.PENDING
    assert state_of(session, jobs["done"]) == JobState.COMPLETED
    assert audit_rows(session) == [(ME, "retry", jobs["failed"].id)]


def test_an_action_with_json_prints_only_json(runner, jobs):
    result = runner.invoke(args=["jobs", "cancel", str(jobs["failed"].id),
                                 str(jobs["done"].id), "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["done"] == [{"id": jobs["failed"].id,
                             "message": f"Job #{jobs['failed'].id} is cancelled."}]
    assert [r["id"] for r in body["refused"]] == [jobs["done"].id]


@pytest.mark.all_databases
def test_run_is_refused_while_an_earlier_job_blocks_it(runner, session, clock, jobs):
    later = save_job(session, clock, ("test_echo", {}), relation_id="c-2")
    result = runner.invoke(args=["jobs", "run", str(later.id)])
    assert result.exit_code == 1
    assert f"is blocked by job #{jobs['failed'].id}" in result.stderr
    assert state_of(session, later) == JobState.PENDING


@pytest.mark.parametrize("args", [["retry"], ["retry", "x"], ["retry", "0"],
                                  ["pause", str(2**31)]])
def test_actions_need_job_ids(runner, jobs, args):
    assert runner.invoke(args=["jobs", *args]).exit_code == 2


def test_show_gives_a_running_requests_start_elapsed_time_and_timeout(runner, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    mark_running(session, job, clock.now - timedelta(seconds=75))
    result = runner.invoke(args=["jobs", "show", str(job.id)])
    assert result.exit_code == 0, result.output
    assert (f"  running since {(clock.now - timedelta(seconds=75)).isoformat()}, for 75.0s; "
            "times out after 300s") in result.stdout.splitlines()
