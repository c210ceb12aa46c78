"""Jobs, requests and attempts as JSON documents: the API's answers and ``jobs ... --json``.

Payloads and results are JSON values with secrets masked, as on the dashboard's pages;
the job's secrets are hidden in its errors and tracebacks too. Tracebacks (which name the
server's files) are left out for those who may only read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..queries.detail import JobDetail
from ..queries.jobs import JobPage, JobRow, first_line
from ..queries.running import running_document
from ..queue.jobs.masking import Masker, hide
from ..queue.jobs.models import Attempt, Request
from ..queue.jobs.payload import load_shown

#: job id -> its URL (None: documents without links, as the CLI prints them).
Links = Callable[[int], str] | None


def when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _value(text: str | None, masker: Masker, secrets: frozenset[str]) -> Any:
    if text is None:
        return None
    return masker.mask(load_shown(text), secrets)  # text that is not JSON: as stored


def _text(text: str | None, secrets: frozenset[str]) -> str | None:
    return None if text is None else hide(text, secrets)


def _link(document: dict[str, Any], job_id: int, links: Links) -> dict[str, Any]:
    if links is not None:
        document["url"] = links(job_id)
    return document


def job_row(row: JobRow, links: Links = None) -> dict[str, Any]:
    """A job as the list shows it."""
    return _link({
        "id": row.id, "relation_id": row.relation_id, "store_id": row.store_id,
        "source_id": row.source_id, "state": row.state.value,
        "created_at": when(row.created_at), "next_attempt_at": when(row.next_attempt_at),
        "type_codes": row.type_codes, "attempts": row.attempts,
        "last_error": first_line(row.last_error),
    }, row.id, links)


def job_page(page: JobPage, links: Links = None) -> dict[str, Any]:
    return {"jobs": [job_row(row, links) for row in page.rows],
            "next_before": page.next_before}


@dataclass(frozen=True)
class Shown:
    """How a job's texts are shown: the masker, the job's secrets, and whether the reader
    may see tracebacks."""

    masker: Masker
    secrets: frozenset[str] = frozenset()
    tracebacks: bool = True


def attempt(found: Attempt, shown: Shown) -> dict[str, Any]:
    return {
        "number": found.number, "started_at": when(found.started_at),
        "finished_at": when(found.finished_at), "duration": found.duration,
        "outcome": found.outcome, "error": _text(found.error, shown.secrets),
        "traceback": _text(found.traceback, shown.secrets) if shown.tracebacks else None,
    }


def request_document(found: Request, shown: Shown) -> dict[str, Any]:
    masker, secrets = shown.masker, shown.secrets
    return {
        "id": found.id, "position": found.position, "type_code": found.type_code,
        "state": found.state.value, "attempts": found.attempts,
        "payload": _value(found.payload, masker, secrets),
        "result": _value(found.result, masker, secrets),
        "last_error": _text(found.last_error, secrets), "created_at": when(found.created_at),
        "updated_at": when(found.updated_at), "running": running_document(found),
        "history": [attempt(a, shown) for a in found.history],
    }


def job_document(detail: JobDetail, masker: Masker, links: Links = None, *,
                 tracebacks: bool = True) -> dict[str, Any]:
    """A job as its page shows it: fields, what holds it back, requests and attempts."""
    job = detail.job
    shown = Shown(masker, detail.secrets, tracebacks)
    return _link({
        "id": job.id, "relation_id": job.relation_id, "store_id": job.store_id,
        "source_id": job.source_id, "state": job.state.value,
        "created_at": when(job.created_at), "updated_at": when(job.updated_at),
        "next_attempt_at": when(job.next_attempt_at), "finished_at": when(job.finished_at),
        "blocked_by": detail.blocked_by,
        "requests": [request_document(r, shown) for r in job.requests],
    }, job.id, links)
