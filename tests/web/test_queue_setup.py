"""Each app keeps its queue setup (session, settings, run listeners, clock) on itself: a
second app in the same process changes nothing for the first; outside any app the core
uses its plain defaults."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.queue import PLAIN, JobDigest, JobRepository, clock, current
from tests.support.clock import Clock


@pytest.fixture
def sqlite_config(tmp_path) -> dict:
    return {"TESTING": True, "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'queue.db'}"}


def test_a_second_app_keeps_the_first_apps_run_listeners_and_settings(sqlite_config):
    first = create_app({**sqlite_config, "QUEUE_MAX_ATTEMPTS": 3})
    second = create_app({**sqlite_config, "QUEUE_MAX_ATTEMPTS": 7})
    for app, attempts in ((first, 3), (second, 7)):
        with app.app_context():
            digest = JobDigest(db.session)
            own = app.extensions["queue"].settings
            assert digest.settings is own
            assert digest.settings.retry.max_attempts == attempts
            # Its alerts listener, bound to this app (not the one created last).
            assert digest.settings.run_listeners == own.run_listeners
            assert len(own.run_listeners) == 1
    listeners = [app.extensions["queue"].settings.run_listeners[0] for app in (first, second)]
    assert listeners[0] is not listeners[1]


def test_each_app_reads_its_own_clock(sqlite_config):
    first, second = create_app(sqlite_config), create_app(sqlite_config)
    first_clock = Clock(datetime(2030, 1, 1, tzinfo=UTC))
    first.extensions["queue"] = replace(first.extensions["queue"], clock=first_clock)
    with first.app_context():
        assert clock() == first_clock.now
        assert JobRepository(db.session).clock is first_clock
    with second.app_context():
        assert abs(clock() - datetime.now(UTC)) < timedelta(minutes=1)
        assert current() is second.extensions["queue"]


def test_outside_any_app_the_core_uses_its_defaults_and_asks_for_a_session():
    assert current() is PLAIN
    assert abs(clock() - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(RuntimeError, match="no database session: pass session="):
        JobRepository()


def test_the_first_app_of_a_process_sets_aside_what_lives_on_and_later_ones_do_not(tmp_path):
    # What lives as long as the process leaves the collector's sight once (gc.freeze), so
    # that the full collections a batch of jobs sets off don't walk it (docs/benchmarks.md).
    script = f"""
import gc
from dashboard import create_app
config = {{"TESTING": True, "SECRET_KEY": "test",
          "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / 'queue.db'}"}}
before = gc.get_freeze_count()
create_app(config)
first = gc.get_freeze_count()
create_app(config)
print(before, first > 20_000, gc.get_freeze_count() <= first)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["0", "True", "True"]
