import time

import pytest

from dashboard.queue import (
    Connector,
    RequestType,
    RequestTypeRegistry,
    UnknownRequestType,
    execute_direct,
    registry,
)
from dashboard.queue.database.engine_setup import UnsupportedDatabase, check_mysql_version
from dashboard.queue.jobs.types import timeout_of


def test_defining_a_type_registers_it():
    class Lookup(RequestType):
        type_code = "test_unit_lookup"

        def execute(self, payload, context):
            return payload["x"] * 2

    assert registry.get("test_unit_lookup") is Lookup


def test_unknown_type_code_says_which():
    with pytest.raises(UnknownRequestType, match="unknown request type 'nope'"):
        RequestTypeRegistry().get("nope")


def test_two_types_may_not_share_a_code():
    local = RequestTypeRegistry()

    class First(RequestType):
        type_code = "test_unit_shared"

    class Second(RequestType):
        type_code = "test_unit_shared_other"

    local.register(First)
    Second.type_code = "test_unit_shared"
    with pytest.raises(ValueError, match="already registered"):
        local.register(Second)


def test_direct_execution_needs_no_job_and_no_database():
    # The seed's "Direct Execution (Bypass Queue)" example.
    result = execute_direct("test_echo", {"customer_id": "42", "data": {"name": "Ann"}})
    assert result == {"payload": {"customer_id": "42", "data": {"name": "Ann"}},
                      "previous": None, "job": None}


def test_direct_execution_lets_exceptions_through():
    with pytest.raises(RuntimeError, match="boom 3"):
        execute_direct("test_boom", {"n": 3})


def test_connector_rate_limit_spaces_calls():
    connector = Connector("unit", rate_limit=20)
    started = time.monotonic()
    for _ in range(5):
        connector.acquire()
    # Five calls at 20 per second: the fifth starts 4/20 s after the first.
    assert time.monotonic() - started >= 0.19


def test_connector_refuses_a_nonsense_rate():
    with pytest.raises(ValueError, match="positive"):
        Connector("unit", rate_limit=0)


@pytest.mark.parametrize(("version", "ok"), [
    ("10.11.19-MariaDB-0+deb12u1", True),
    ("10.6.0-MariaDB", True),
    ("10.5.23-MariaDB-1:10.5.23+maria~deb11", False),
    ("8.0.36", True),
    ("5.7.44-log", False),
])
def test_servers_without_skip_locked_are_refused(version, ok):
    if ok:
        check_mysql_version(version)
    else:
        with pytest.raises(UnsupportedDatabase, match="or later"):
            check_mysql_version(version)


def test_a_types_own_timeout_overrides_the_default():
    class Quick(RequestType):
        type_code = "test_timeout_quick"
        timeout = 5

    class Plain(RequestType):
        type_code = "test_timeout_plain"

    assert timeout_of(Quick, 300.0) == 5.0
    assert timeout_of(Plain, 300.0) == 300.0
    assert timeout_of(None, 42.0) == 42.0
