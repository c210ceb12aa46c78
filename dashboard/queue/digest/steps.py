"""A digest's steps, written by group commit: each step is a request's outcome, the next
request's start, and jobs given back, as one unit guarded by the lease.

Each job's thread hands its step to ``Steps.write`` and waits until it is committed, so
an outcome is durable before its job's next request starts. Steps of different jobs
that come close together share one transaction (group.py) on one of the digest's few
connections (connections.py). A step alone on PostgreSQL is one statement sent in
autocommit (dialect.PostgreSQL.write_step). A group on PostgreSQL is one transaction
holding one statement for all its steps that have one (dialect.PostgreSQL.write_steps,
postgresql_group.py), then the general way (writes.Writer) for the rest: a request that
failed, jobs given back, a guard that did not hold (the general way says why), a second
step of a job in the group. Each of these is logged and counted with its reason
(general_way.py). Elsewhere every step is written the general way.

A connection lost while a group was written leaves its commit unknown: on the next
connection, the group's first outcome is looked for (each attempt's number is unique
per request); found, the whole group was committed, else it is written again (a start
or a job given back applies twice as once).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..database.general_way import Reason, Tally
from ..jobs.models import Attempt
from ..store import claims
from ..store.claims import Lease
from ..store.dialect import StepWritten, for_connection
from ..store.writes import StepToWrite, Writer
from .connections import Connections
from .group import GroupCommit

attempts = Attempt.__table__


@dataclass(frozen=True)
class Step:
    """What a step wrote. Each reason is LOST (another digest holds the job) or the state
    an operator put the job in (paused, cancelled...)."""

    #: Why the outcome's job was let go; None when the outcome was written as it is.
    let_go: str | None = None
    #: Why the start was refused; None when the request may run.
    refused: str | None = None


class Steps:
    """The digest's steps, written in groups on its connections. ``general_way`` counts
    the steps that took the general way where PostgreSQL has one statement."""

    def __init__(self, connections: Connections, lease: Lease) -> None:
        self.connections = connections
        self.lease = lease
        self.group: GroupCommit[StepToWrite] = GroupCommit(self._commit,
                                                           leaders=connections.size)
        self.general_way = Tally()

    def write(self, step: StepToWrite) -> Step:
        """Write ``step``; returns once it is committed (with the steps grouped with it)."""
        return self.group.write(step)

    def _commit(self, steps: list[StepToWrite]) -> list[Step]:
        return self.connections.run(lambda conn: self._write(conn, steps),
                                    again=lambda conn: self._committed(conn, steps))

    def _write(self, conn: sa.Connection, steps: list[StepToWrite]) -> list[Step]:
        dialect = for_connection(conn)
        writer = Writer(conn, self.lease)
        fast: list[StepWritten | Reason | None] | None = None
        if len(steps) == 1 and not steps[0].release:
            step = steps[0]
            alone = dialect.write_step(conn, self.lease, step.pending, step.start, step.now)
            if isinstance(alone, StepWritten) and alone.outcome and (
                    step.start is None or alone.start):
                return [Step()]
            if alone is Reason.IN_TRANSACTION:
                self.general_way.took(alone, _what(step))
            else:  # what the one statement could not write: the general way's
                fast = [alone]
        try:
            if fast is None:
                fast = dialect.write_steps(conn, self.lease, steps)
            written = [self._rest(writer, step, found) for step, found in zip(steps, fast,
                                                                              strict=True)]
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return written

    def _rest(self, writer: Writer, step: StepToWrite,
              fast: StepWritten | Reason | None) -> Step:
        """Write what the one statement did not of ``step`` (``fast``: what it wrote, or
        why the step had none) the general way, in the group's transaction."""
        if isinstance(fast, StepWritten) and fast.outcome:
            refused = None
            if step.start is not None and not fast.start:
                refused = self._refused_start(writer, step)
            return Step(refused=refused)
        if fast is not None:
            self.general_way.took(
                Reason.OUTCOME_REFUSED if isinstance(fast, StepWritten) else fast, _what(step))
        pending, start = step.pending, step.start
        let_go = writer.outcome(pending) if pending is not None else None
        if start is None:
            refused = None
        elif let_go is not None and pending is not None and start[0] == pending.job_id:
            refused = let_go  # its job was let go: its next request can't start
        else:
            refused = writer.start(*start, step.now)
        if step.release:
            claims.release(writer.conn, self.lease, list(step.release), now=step.now)
        return Step(let_go, refused)

    def _refused_start(self, writer: Writer, step: StepToWrite) -> str | None:
        """The start the one statement did not apply, tried the general way: why not."""
        assert step.start is not None
        self.general_way.took(Reason.START_REFUSED, _what(step))
        return writer.start(*step.start, step.now)

    def _committed(self, conn: sa.Connection, steps: list[StepToWrite]) -> list[Step] | None:
        """After a lost connection: the steps as written, if their group was committed
        (its outcomes' attempts are there); None: it was not, or it had no outcome."""
        outcomes = [(s.pending.row.id, (s.pending.row.last_number or 0) + 1)
                    for s in steps if s.pending is not None]
        if not outcomes:
            return None
        found = conn.execute(sa.select(attempts.c.id).where(
            sa.tuple_(attempts.c.request_id, attempts.c.number).in_(outcomes)).limit(1)
        ).first()
        conn.rollback()
        return [Step() for _ in steps] if found is not None else None


def _what(step: StepToWrite) -> str:
    """A step, as a log line names it."""
    parts = []
    if step.pending is not None:
        parts.append(f"job {step.pending.job_id}'s outcome of request {step.pending.row.id}")
    if step.start is not None:
        parts.append(f"job {step.start[0]}'s start of request {step.start[1]}")
    if step.release:
        parts.append(f"{len(step.release)} jobs given back")
    return "a step (" + ", ".join(parts) + ")"
