"""Request types behind limited connectors, for the connector limit tests.

Imported by those tests and by digest subprocesses (with ``QUEUE_TYPES=`` both
``tests.support.concurrency_types`` and ``tests.support.limited_types``): the
``Recorded`` ones write every execution down (see tests/support/concurrency_types.py).
"""

from __future__ import annotations

from typing import Any

from dashboard.queue import Connector, RequestContext, RequestType
from tests.support.concurrency_types import Recorded

MODULES = "tests.support.concurrency_types,tests.support.limited_types"

ONE_SLOT = Connector("test_one_slot", max_in_flight=1)
TEN_PER_SECOND = Connector("test_ten_per_second", rate_limit=10)
RATE_20 = Connector("test_rate_20", rate_limit=20)
THREE_SLOTS = Connector("test_three_slots", max_in_flight=3)


class OneSlot(RequestType):
    type_code = "test_one_slot"
    connector = ONE_SLOT

    def execute(self, payload: Any, context: RequestContext) -> Any:
        if payload.get("fail_first") and context.request.attempt == 1:
            raise ConnectionError("timed out")
        return {"ran": context.request.attempt}


class TenPerSecond(RequestType):
    type_code = "test_ten_per_second"
    connector = TEN_PER_SECOND

    def execute(self, payload: Any, context: RequestContext) -> Any:
        return "ok"


class RateLimited(Recorded):
    type_code = "rate_limited"
    connector = RATE_20


class SlotLimited(Recorded):
    type_code = "slot_limited"
    connector = THREE_SLOTS


class OneSlotRecorded(Recorded):
    type_code = "one_slot_recorded"
    connector = Connector("test_one_slot_recorded", max_in_flight=1)
