"""The benchmark's request type: does nothing, so the figures measure the queue alone.

Registered in digest processes with ``QUEUE_TYPES=bench.noop``.
"""

from __future__ import annotations

from typing import Any

from dashboard.queue import RequestContext, RequestType

TYPE_CODE = "bench_noop"


class Noop(RequestType):
    type_code = TYPE_CODE

    def execute(self, payload: Any, context: RequestContext) -> Any:
        return None
