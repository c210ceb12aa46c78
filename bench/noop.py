"""The benchmark's request type: does nothing, so the figures measure the queue alone.

Registered in digest processes with ``QUEUE_TYPES=bench.noop``. With
``BENCH_REQUEST_SECONDS`` set it waits that long instead, as a call to a remote API
would (the latency row, see bench/concurrency.py).
"""

from __future__ import annotations

import os
import time
from typing import Any

from dashboard.queue import RequestContext, RequestType

TYPE_CODE = "bench_noop"
WAIT = float(os.environ.get("BENCH_REQUEST_SECONDS") or 0)


class Noop(RequestType):
    type_code = TYPE_CODE

    def execute(self, payload: Any, context: RequestContext) -> Any:
        if WAIT:
            time.sleep(WAIT)
        return None
