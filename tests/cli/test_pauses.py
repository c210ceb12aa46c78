"""``flask types ...`` and ``flask connectors ...``: pause and resume from a shell."""

from __future__ import annotations

import getpass

import tests.support.limited_types  # noqa: F401  (types of a connector of their own)
from dashboard.queue.store import pauses
from tests.support.api import audit_rows

ME = f"cli:{getpass.getuser()}"


def test_pause_then_list_then_resume_a_type(runner, session):
    paused = runner.invoke(args=["types", "pause", "test_echo"])
    assert paused.exit_code == 0, paused.output
    assert paused.stdout.startswith("Request type 'test_echo' is paused")
    listed = runner.invoke(args=["types", "list"])
    assert listed.exit_code == 0
    [line] = [line for line in listed.stdout.splitlines() if line.startswith("test_echo:")]
    assert "paused since" in line and f"by {ME}" in line
    resumed = runner.invoke(args=["types", "resume", "test_echo"])
    assert resumed.exit_code == 0 and "is resumed" in resumed.stdout
    assert pauses.type_codes(session) == set()
    assert [row[:2] for row in audit_rows(session)] == [(ME, "type-pause"),
                                                        (ME, "type-resume")]


def test_pausing_a_connector_pauses_its_types(runner, session):
    result = runner.invoke(args=["connectors", "pause", "test_one_slot"])
    assert result.exit_code == 0, result.output
    assert pauses.type_codes(session) == {"test_one_slot"}
    assert runner.invoke(args=["connectors", "resume", "test_one_slot"]).exit_code == 0
    session.rollback()
    assert pauses.type_codes(session) == set()


def test_an_unknown_type_is_refused_in_one_line_with_exit_code_2(runner, session):
    result = runner.invoke(args=["types", "pause", "no_such_type"])
    assert result.exit_code == 2
    assert "no request type has the code 'no_such_type'" in result.output
    assert "Traceback" not in result.output
    assert pauses.type_codes(session) == set()


def test_resuming_a_type_that_is_not_paused_says_so(runner):
    result = runner.invoke(args=["types", "resume", "test_echo"])
    assert result.exit_code == 0 and "was not paused" in result.stdout
