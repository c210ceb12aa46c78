"""Fixtures for the ``flask --app dashboard ...`` commands."""

from __future__ import annotations

import pytest

from dashboard import queue
from dashboard.db import utcnow


@pytest.fixture(autouse=True)
def queue_clock(clock):
    """The commands, and the digest they run, read the test's clock."""
    queue.configure(clock=clock)
    yield clock
    queue.configure(clock=utcnow)
