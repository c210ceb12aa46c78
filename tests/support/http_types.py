"""A request type that calls the tests' CallServer over HTTP (see call_server.py).

Digest subprocesses load it with ``QUEUE_TYPES=tests.support.http_types``. Payload:
``url`` (the server's), ``hold`` (true: the server holds the call until the test lets it
go).
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

from dashboard.queue import RequestContext, RequestType

TYPE_CODE = "http_call"


class HttpCall(RequestType):
    type_code = TYPE_CODE

    def execute(self, payload: Any, context: RequestContext) -> Any:
        assert context.job is not None and context.request is not None  # in a digest
        query = (f"job={context.job.id}&request={context.request.id}&pid={os.getpid()}"
                 f"&hold={1 if payload.get('hold') else 0}")
        with urllib.request.urlopen(f"{payload['url']}?{query}", timeout=90) as answer:
            return json.load(answer)
