"""A request type that calls the tests' CallServer over HTTP (see call_server.py).

Digest subprocesses load it with ``QUEUE_TYPES=tests.support.http_types``. Payload:
``url`` (the server's), ``hold`` (true: the server holds the call until the test lets it
go).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any

from dashboard.queue import Connector, RequestContext, RequestType
from dashboard.queue.digest.limits import current_turn

TYPE_CODE = "http_call"


class HttpCall(RequestType):
    type_code = TYPE_CODE

    def execute(self, payload: Any, context: RequestContext) -> Any:
        assert context.job is not None and context.request is not None  # in a digest
        turn = current_turn()
        # At most this late: the turn may have begun up to its read's time before starts_at.
        late = (time.monotonic() - turn.starts_at + turn.read_took
                if turn is not None else 0.0)
        sent = time.time()
        query = (f"job={context.job.id}&request={context.request.id}&pid={os.getpid()}"
                 f"&hold={1 if payload.get('hold') else 0}&late={late:.6f}&sent={sent:.6f}")
        with urllib.request.urlopen(f"{payload['url']}?{query}", timeout=90) as answer:
            return json.load(answer)


#: 20 calls a second, for every digest together.
RATE_20 = Connector("test_http_rate_20", rate_limit=20)


class RateLimitedCall(HttpCall):
    """Tells the server how late after its turn it sends the call."""

    type_code = "http_call_rate_20"
    connector = RATE_20
