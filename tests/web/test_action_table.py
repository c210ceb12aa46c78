"""The one table of actions (queue/operations/actions.py ACTIONS) feeds the pages, the bulk forms,
the API's description and ``flask jobs``: each says what the table says."""

from __future__ import annotations

import html

import pytest

from dashboard.api.openapi import SPEC
from dashboard.queue import JobState
from dashboard.queue.operations.actions import ACTION_FUNCTIONS, ACTIONS, BULK, applicable
from tests.support.factories import save_job
from tests.support.web import post, run_digest, text

RETRY_HELP = ("Make a retrying job due now; give a failed one a fresh round of attempts (its "
              "history is kept).")


def one_line(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def failed_job(session, clock):
    job = save_job(session, clock, ("test_not_applicable", {}), relation_id="cust-1")
    run_digest(session, clock)
    return job


@pytest.mark.parametrize(("state", "codes"), [
    (JobState.PENDING, ["pause", "cancel", "run"]),
    (JobState.RETRYING, ["retry", "pause", "cancel", "run"]),
    (JobState.RUNNING, ["pause", "cancel"]),
    (JobState.PAUSED, ["resume", "cancel"]),
    (JobState.FAILED, ["retry", "cancel", "delete"]),
    (JobState.COMPLETED, ["delete"]),   # finished: only an administrator's delete
    (JobState.CANCELLED, ["delete"]),
])
def test_the_actions_of_each_state_in_the_pages_order(state, codes):
    assert [action.code for action in applicable(state)] == codes


def test_every_action_but_run_is_a_compare_and_set_and_a_bulk_action():
    assert list(ACTIONS) == ["retry", "pause", "resume", "cancel", "run", "delete"]
    assert BULK == tuple(ACTION_FUNCTIONS) == ("retry", "pause", "resume", "cancel", "delete")


def test_the_job_page_shows_the_tables_labels_and_help(operator, failed_job):
    page = text(operator.get(f"/jobs/{failed_job.id}"))
    assert f'<button title="{html.escape(RETRY_HELP)}">Retry</button>' in page
    assert ">Cancel</button>" in page
    for absent in (">Pause</button>", ">Resume</button>", ">Run now</button>"):
        assert absent not in page


def test_a_due_job_offers_run_now_with_its_help(operator, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    page = text(operator.get(f"/jobs/{job.id}"))
    assert f'<button title="{html.escape(ACTIONS["run"].help)}">Run now</button>' in page


def test_the_list_offers_the_bulk_actions_of_the_table(operator, admin, failed_job):
    page = text(operator.get("/jobs"))
    for action in ("Retry", "Pause", "Resume", "Cancel"):
        assert f">{action} all</button>" in page
        assert f">{action}</button>" in page
    assert "Run now" not in page
    assert "Delete" not in page  # an administrator's action
    assert ">Delete all</button>" in text(admin.get("/jobs"))


def test_the_bulk_confirmation_speaks_the_tables_past_tense(operator, failed_job):
    page = text(post(operator, "/jobs/bulk", {"action": "resume", "scope": "all"}))
    assert "Nothing to resume" in page
    assert "No job can be resumed as it is now." in page


def test_the_api_description_of_each_action_is_the_tables_help():
    for code, action in ACTIONS.items():
        described = (SPEC["paths"]["/api/v1/jobs/{job_id}"]["delete"] if code == "delete"
                     else SPEC["paths"][f"/api/v1/jobs/{{job_id}}/{code}"]["post"])
        assert described["description"].startswith(action.help)
    assert SPEC["paths"]["/api/v1/jobs/{job_id}/retry"]["post"]["description"].startswith(
        RETRY_HELP)


@pytest.mark.parametrize("code", list(ACTIONS))
def test_the_cli_help_of_each_action_is_the_tables_help(runner, code):
    result = runner.invoke(args=["jobs", code, "--help"])
    assert result.exit_code == 0, result.output
    assert f"{ACTIONS[code].label}: {ACTIONS[code].help}" in one_line(result.output)


def test_the_cli_lists_every_action(runner):
    listed = one_line(runner.invoke(args=["jobs", "--help"]).output)
    for code in ACTIONS:
        assert f" {code} " in listed
