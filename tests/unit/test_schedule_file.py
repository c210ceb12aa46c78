"""The schedule file (QUEUE_SCHEDULE): what is refused at start, naming entry and field,
and which slots an entry makes due."""

from datetime import UTC, datetime

import pytest

from dashboard.queue.operations.recurring import MAX_CATCH_UP, ScheduleError, load, parse

KNOWN = {"reconcile", "sync"}.__contains__
GOOD = {"name": "nightly", "cron": "0 3 * * *", "requests": [
    {"type_code": "reconcile", "payload": {"scope": "all"}}]}


def entry(**changes):
    raw = {**GOOD, **changes}
    return parse({"schedule": [{k: v for k, v in raw.items() if v is not None}]}, KNOWN)[0]


def refused(document) -> str:
    with pytest.raises(ScheduleError) as error:
        parse(document, KNOWN)
    return str(error.value)


def test_the_issues_example_loads(tmp_path):
    path = tmp_path / "schedule.toml"
    path.write_text('''
[[schedule]]
name = "nightly-reconcile"
cron = "0 3 * * *"
relation_id = "reconcile"
requests = [{type_code = "reconcile", payload = {"scope" = "all"}}]
''')
    loaded, = load(path, KNOWN)
    assert (loaded.name, loaded.cron, loaded.relation_id, loaded.timezone, loaded.catch_up) == (
        "nightly-reconcile", "0 3 * * *", "reconcile", "UTC", False)
    assert loaded.requests[0].payload == {"scope": "all"}


@pytest.mark.parametrize(("change", "message"), [
    ({"cron": "0 3 * *"}, "schedule entry 1 ('nightly'): cron: '0 3 * *' is not a cron"),
    ({"cron": "61 * * * *"}, "cron: '61 * * * *' is not a cron"),
    # Valid to croniter, but no time to run: refused, not left to fail every run.
    ({"cron": "0 0 31 2 *"}, "schedule entry 1 ('nightly'): cron: '0 0 31 2 *' names no time "
                             "to run within 5 years"),
    ({"cron": "0 0 30 2 *"}, "cron: '0 0 30 2 *' names no time to run within 5 years"),
    # Seconds and years are not the 5 fields the README documents.
    ({"cron": "0 0 1 1 * 0 2099"}, "cron: '0 0 1 1 * 0 2099' is not a cron expression of 5"),
    ({"cron": "* * * * * *"}, "cron: '* * * * * *' is not a cron expression of 5 fields"),
    ({"cron": None}, "cron: None is not a cron"),
    ({"name": ""}, "schedule entry 1: name: required"),
    ({"name": "x" * 101}, "name: required, a string of 1 to 100"),
    ({"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not a time zone"),
    ({"catch_up": "yes"}, "catch_up: must be true or false"),
    ({"store_id": "one"}, "store_id: store_id must be an integer"),
    ({"relation_id": ""}, "relation_id: relation_id must be 1 to 255"),
    ({"requests": []}, "requests: required, a non-empty array"),
    ({"requests": [{"type_code": "nope", "payload": {}}]},
     "requests[0].type_code: unknown request type 'nope'"),
    ({"requests": [{"type_code": "sync"}]}, "requests[0].payload: required"),
    ({"requests": [{"type_code": "sync", "payload": {}, "paylod": 1}]},
     "requests[0].paylod: unknown field"),
    # TOML has dates, JSON has not.
    ({"requests": [{"type_code": "sync", "payload": {"at": datetime(2026, 1, 5, tzinfo=UTC)}}]},
     "requests[0].payload:"),
    ({"cronn": "0 3 * * *"}, "cronn: unknown field"),
])
def test_a_bad_entry_is_refused_naming_the_entry_and_the_field(change, message):
    raw = {**GOOD, **change}
    assert message in refused({"schedule": [{k: v for k, v in raw.items() if v is not None}]})


def test_two_entries_of_one_name_are_refused():
    assert "schedule entry 2 ('nightly'): name: another entry" in refused(
        {"schedule": [GOOD, GOOD]})


def test_a_file_that_is_not_toml_or_not_there_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[schedule]\nname = ")
    with pytest.raises(ScheduleError, match=f"QUEUE_SCHEDULE {bad}: not valid TOML"):
        load(bad, KNOWN)
    with pytest.raises(ScheduleError, match="can't read it"):
        load(tmp_path / "missing.toml", KNOWN)
    assert "unknown table 'schedules'" in refused({"schedules": []})


def test_without_catch_up_only_the_latest_missed_slot_is_due():
    hourly = entry(cron="0 * * * *")
    last = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    assert hourly.due(last, datetime(2026, 1, 5, 9, 30, tzinfo=UTC)) == [
        datetime(2026, 1, 5, 9, 0, tzinfo=UTC)]
    assert hourly.due(last, datetime(2026, 1, 5, 3, 59, tzinfo=UTC)) == []
    # A slot that is exactly now is due.
    assert hourly.due(last, datetime(2026, 1, 5, 4, 0, tzinfo=UTC)) == [
        datetime(2026, 1, 5, 4, 0, tzinfo=UTC)]


def test_catch_up_gives_every_missed_slot_oldest_first_a_run_at_a_time():
    hourly = entry(cron="0 * * * *", catch_up=True)
    last = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    assert hourly.due(last, datetime(2026, 1, 5, 6, 10, tzinfo=UTC)) == [
        datetime(2026, 1, 5, h, 0, tzinfo=UTC) for h in (4, 5, 6)]
    assert len(hourly.due(last, datetime(2027, 1, 1, tzinfo=UTC))) == MAX_CATCH_UP


def test_a_time_zone_moves_the_slots():
    paris = entry(timezone="Europe/Paris")
    # 03:00 in Paris is 02:00 UTC in winter, 01:00 UTC in summer.
    assert paris.latest(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == datetime(
        2026, 1, 5, 2, 0, tzinfo=UTC)
    assert paris.latest(datetime(2026, 7, 5, 9, 0, tzinfo=UTC)) == datetime(
        2026, 7, 5, 1, 0, tzinfo=UTC)


def test_29_february_is_a_time_to_run():
    assert entry(cron="0 0 29 2 *").cron == "0 0 29 2 *"
