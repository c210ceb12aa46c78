"""A test client that speaks to the API with a bearer token."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from dashboard.audit import AuditEntry, AuditJob


class ApiClient:
    def __init__(self, client: FlaskClient, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None,
             **kwargs: Any):
        return self.client.post(path, json=json, headers=self._headers(headers), **kwargs)

    def open(self, path: str, method: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.open(path, method=method, headers=self._headers(headers), **kwargs)


def job_body(*requests: tuple[str, Any], **fields: Any) -> dict[str, Any]:
    return {**fields, "requests": [{"type_code": t, "payload": p} for t, p in requests]}


def audit_rows(session) -> list[tuple[str, str, int | None]]:
    session.rollback()
    return [tuple(r) for r in session.execute(
        sa.select(AuditEntry.actor, AuditEntry.action, AuditJob.job_id)
        .outerjoin(AuditJob, AuditJob.entry_id == AuditEntry.id).order_by(AuditEntry.id))]
