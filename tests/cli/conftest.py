"""Fixtures for the ``flask --app dashboard ...`` commands."""

from __future__ import annotations

from dataclasses import replace

import pytest


@pytest.fixture(autouse=True)
def queue_clock(request, clock):
    """The commands, and the digest they run, read the test's clock (a test without an
    app has none to set)."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        app.extensions["queue"] = replace(app.extensions["queue"], clock=clock)
    return clock
