"""The search copies of stored payloads, rebuilt for the masked keys of now.

A request's ``payload_search`` is made at enqueue with the masked keys of that moment
(see ``masking.Masker.searchable``). After ``QUEUE_MASKED_KEYS`` gains a word, the copies
made before still hold those values in clear, and so do the stored errors: this rebuilds
both, a batch of requests at a time. Migration 0009 fills the first copies with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from .masking import Masker, hide

BATCH = 1000
#: The columns it reads and writes, spelled out so that the migration that uses it does
#: not depend on the models of a later version.
_requests = sa.table("requests", sa.column("id", sa.Integer), sa.column("payload", sa.Text),
                     sa.column("payload_search", sa.Text), sa.column("last_error", sa.Text))
#: An error a digest wrote meanwhile is left as it is (it was hidden as it was written).
_REWRITE = _requests.update().where(
    _requests.c.id == sa.bindparam("row_id"),
    _requests.c.last_error.is_not_distinct_from(sa.bindparam("old_error", type_=sa.Text)),
).values(payload_search=sa.bindparam("search"), last_error=sa.bindparam("error"))


def refresh(connection: sa.Connection, masker: Masker, *, batch: int = BATCH) -> Iterator[int]:
    """Rebuild the copies, in id order; yields the number of requests of each batch done
    (the caller may commit between batches). Doesn't commit."""
    last = 0
    while True:
        rows = connection.execute(
            sa.select(_requests.c.id, _requests.c.payload, _requests.c.last_error)
            .where(_requests.c.id > last).order_by(_requests.c.id).limit(batch)).all()
        if not rows:
            return
        connection.execute(_REWRITE, [_rewritten(masker, row) for row in rows])
        last = rows[-1].id
        yield len(rows)


def _rewritten(masker: Masker, row: sa.Row) -> dict[str, Any]:
    try:
        search = masker.searchable(row.payload)
    except ValueError:  # not JSON (never written by the queue): no key to mask
        search = row.payload
    secrets = masker.secrets_of_json(row.payload)
    error = None if row.last_error is None else hide(row.last_error, secrets)
    return {"row_id": row.id, "search": search, "error": error, "old_error": row.last_error}
