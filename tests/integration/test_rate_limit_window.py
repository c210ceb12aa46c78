"""A connector's rate limit, as the API sees it: 3 digests at their full concurrency, the
calls' starts counted at a test server.

Turns are booked 1 / rate apart on the database's clock, so at most rate + 1 turns fall in
any sliding second. A call is sent at its turn or later: by the host's scheduler, a few
milliseconds idle, up to hundreds on a loaded host. So the bound that holds at the API is
rate + 1 + ceil(rate x D), D the longest delay between a call's turn and its arrival; each
call reports its delay, so the test checks that bound, and rate + 1 where the delays stay
within one interval."""

from __future__ import annotations

import math
from bisect import bisect_left

import pytest

from dashboard.queue import JobState
from tests.support.call_server import CallServer
from tests.support.concurrency import job_states, save
from tests.support.factories import make_job
from tests.support.http_types import RATE_20

CALLS = 120
#: SQLite's clock counts whole milliseconds: a turn read off it may be off by one, at
#: either end of the run.
CLOCK_STEP = 0.002


def busiest_second(starts: list[float]) -> int:
    """The most calls that started within any one second, [t, t + 1)."""
    starts = sorted(starts)
    return max(bisect_left(starts, t + 1.0) - i for i, t in enumerate(starts))


@pytest.mark.slow
def test_three_digests_keep_the_rate_in_every_sliding_second(session, digests):
    with CallServer() as server:
        save(session, [make_job(("http_call_rate_20", {"url": server.url, "n": n}))
                       for n in range(CALLS)])
        started = [digests.start("--concurrency", "8", QUEUE_TYPES="tests.support.http_types",
                                 QUEUE_LIMIT_WAIT=60) for _ in range(3)]
        for process in started:
            assert process.wait(120) == 0, process.output
    starts = [call.started for call in server.calls]
    assert len(starts) == CALLS
    # (One may find every turn booked by the others for its whole wait: at least two share.)
    assert len({call.pid for call in server.calls}) >= 2, "the digests did not overlap"
    assert job_states(session) == {JobState.COMPLETED: CALLS}
    rate = RATE_20.rate_limit
    most = busiest_second(starts)
    # Arrived late by at most D: each call reports its most lateness when sent (the turn may
    # have begun up to the time its read took before the digest knew it), and the server
    # adds the way from its sending to its arrival.
    delay = max(call.late + call.started - call.sent for call in server.calls) + CLOCK_STEP
    print(f"busiest sliding second: {most} calls at rate_limit {rate:g}; longest delay "
          f"after a turn {delay * 1000:.0f} ms; {CALLS} calls in "
          f"{max(starts) - min(starts):.2f}s")
    assert most <= rate + 1 + math.ceil(rate * delay)
    # The calls were held to the rate: 120 calls at 20 a second are sent over 6 seconds,
    # less the first one's lateness.
    sent = [call.sent for call in server.calls]
    most_late = max(call.late for call in server.calls) + CLOCK_STEP
    assert max(sent) - min(sent) >= (CALLS - 1) / rate - most_late
