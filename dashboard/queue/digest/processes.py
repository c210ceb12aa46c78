"""The digest processes running now, as the Digests page lists them.

A digest writes its row when a run starts (``register``), its heartbeat beats it while
the run lasts (``beat``), and the run deletes it when it ends (``forget``); a ``--loop``
digest writes it when it starts, beats it while idle too and deletes it when it stops
(see worker.py). A digest that was killed leaves its row behind: its heartbeat stops, so
the row turns stale, and a later digest prunes it a day on, or, on the same host, gives
back its jobs at once (``end_leases_of_gone``). The requests in flight are not stored:
they are the running requests of the running jobs a digest holds (``jobs.locked_by``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jobs.models import DigestProcess, DigestRun, Job, Request
from ..jobs.states import JobState, RequestState

processes = DigestProcess.__table__
runs = DigestRun.__table__
jobs = Job.__table__
requests = Request.__table__

#: The heartbeat beats at least this often, so the page's "last heartbeat" stays recent.
BEAT_SECONDS = 30.0
#: Beats missed before a digest is marked stale.
MISSED_BEATS = 3
#: A stale digest's row is deleted this long after its last heartbeat.
KEPT_AFTER_SILENCE = timedelta(days=1)


def beat_seconds(lease_seconds: float) -> float:
    """How often a digest's heartbeat beats: a third of the lease (so a lease is renewed
    before it ends), and at least every BEAT_SECONDS."""
    return min(lease_seconds / 3, BEAT_SECONDS)


#: Rows of silent digests deleted by one run's start, at most.
PRUNED_AT_ONCE = 100


def register(conn: sa.Connection, worker: str, *, concurrency: int, lease_seconds: float,
             now: datetime, job_id: int | None = None) -> None:
    """Write this digest's row (again, if an earlier run of the same process could not
    delete it), and prune the rows of digests silent for a day. ``job_id``: the one job
    it runs."""
    host, pid = _host_and_pid(worker)
    values = dict(host=host, pid=pid, heartbeat_at=now,
                  beat_seconds=beat_seconds(lease_seconds), concurrency=concurrency,
                  job_id=job_id, pid_namespace=pid_namespace())
    # Rows are found by a plain read and written by key: a DELETE of a missing row, or one
    # that scans by time, takes gap locks, and MariaDB's digests starting runs at once
    # deadlocked on them. A row kept (a --loop digest's) keeps the time its process started.
    if conn.scalar(sa.select(processes.c.worker).where(processes.c.worker == worker)):
        conn.execute(sa.update(processes).where(processes.c.worker == worker).values(values))
    else:
        conn.execute(sa.insert(processes).values(worker=worker, started_at=now, **values))
    silent = conn.scalars(sa.select(processes.c.worker).where(
        processes.c.heartbeat_at < now - KEPT_AFTER_SILENCE).limit(PRUNED_AT_ONCE)).all()
    if silent:
        conn.execute(sa.delete(processes).where(processes.c.worker.in_(silent)))


def beat(conn: sa.Connection, worker: str, *, now: datetime,
         connections: int | None = None, hung: int | None = None) -> bool:
    """The digest is alive; ``connections`` and ``hung``, when given, are its counts now.
    False: it has no row (deleted meanwhile)."""
    counts = {name: value for name, value in (("connections", connections), ("hung", hung))
              if value is not None}
    return conn.execute(sa.update(processes).where(processes.c.worker == worker)
                        .values(heartbeat_at=now, **counts)).rowcount > 0


def forget(conn: sa.Connection, worker: str) -> None:
    conn.execute(sa.delete(processes).where(processes.c.worker == worker))


def pid_namespace() -> str | None:
    """This process's pid namespace (the inode of /proc/self/ns/pid); None where there is
    no such file (not Linux): pids can't be told apart there."""
    try:
        return str(Path("/proc/self/ns/pid").stat().st_ino)
    except OSError:
        return None


#: What a gone digest's jobs' lease is set to end at: long enough ago for any clock.
ENDED = timedelta(days=1)


def end_leases_of_gone(conn: sa.Connection, worker: str, *, now: datetime) -> list[str]:
    """At a digest's start: the earlier digests of this host and pid namespace whose process
    is gone (killed, or its container restarted). Their jobs' leases end now, so this run
    takes them over (``claims.expired_jobs``) or claims them, rather than waiting out the
    lease; their rows are deleted. Returns their worker ids. The caller commits.

    The jobs are found by ``locked_by``, which has no index (see migration 0005): a scan,
    paid only when a digest of this host died.
    """
    host, _ = _host_and_pid(worker)
    namespace = pid_namespace()
    if namespace is None:
        return []
    rows = conn.execute(sa.select(processes.c.worker, processes.c.pid, processes.c.started_at)
                        .where(processes.c.host == host,
                               processes.c.pid_namespace == namespace,
                               processes.c.worker != worker)).all()
    gone = [row.worker for row in rows if _gone(row.pid, row.started_at)]
    if gone:
        conn.execute(sa.update(jobs).where(jobs.c.locked_by.in_(gone))
                     .values(locked_until=now - ENDED))
        conn.execute(sa.delete(processes).where(processes.c.worker.in_(gone)))
    return gone


def _gone(pid: int, registered_at: datetime) -> bool:
    """No process ``pid`` runs, or the one that does started after the row was written
    (the pid was used again: a container's digest is often pid 1 at every start)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a live process of another user
        pass
    started = _process_started(pid)
    return started is not None and started > registered_at.replace(tzinfo=UTC).timestamp() + 1


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (to a second); None if
    unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _host_and_pid(worker: str) -> tuple[str, int]:
    """"host:pid:random" -> (host, pid); a worker id of another shape keeps it whole, pid 0."""
    head = worker.rpartition(":")[0]
    host, _, pid = head.rpartition(":")
    if host and pid.isascii() and pid.isdigit():
        return host, int(pid)
    return worker, 0


@dataclass(frozen=True)
class InFlightRequest:
    job_id: int
    request_id: int
    position: int
    type_code: str
    #: When the request was marked running.
    since: datetime


@dataclass(frozen=True)
class RunningDigest:
    worker: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    concurrency: int
    #: The one job it was asked to run; None: it runs due jobs.
    job_id: int | None
    stale: bool
    in_flight: list[InFlightRequest]
    #: Database connections it holds, and calls it abandoned that never returned; None:
    #: not told.
    connections: int | None = None
    hung: int | None = None

    @property
    def busy(self) -> bool:
        """A request of it is running; else it is idle (waiting for work, or between jobs)."""
        return bool(self.in_flight)


def running(session: Session, *, now: datetime) -> list[RunningDigest]:
    """Every digest with a row, live ones first, each with its requests in flight; stale:
    MISSED_BEATS of its heartbeats missed."""
    rows = session.execute(sa.select(processes).order_by(
        processes.c.heartbeat_at.desc(), processes.c.worker)).all()
    by_worker: dict[str, list[InFlightRequest]] = {row.worker: [] for row in rows}
    if by_worker:
        # Running jobs are few (ix_jobs_state_id); their running request is one each.
        for found in session.execute(
            sa.select(jobs.c.locked_by, requests.c.job_id, requests.c.id,
                      requests.c.position, requests.c.type_code, requests.c.updated_at)
            .join(requests, requests.c.job_id == jobs.c.id)
            .where(jobs.c.state == JobState.RUNNING, jobs.c.locked_by.in_(list(by_worker)),
                   requests.c.state == RequestState.RUNNING)
            .order_by(requests.c.job_id)
        ):
            by_worker[found.locked_by].append(InFlightRequest(
                found.job_id, found.id, found.position, found.type_code, found.updated_at))
    return sorted(
        (RunningDigest(row.worker, row.host, row.pid, row.started_at, row.heartbeat_at,
                       row.concurrency, row.job_id, _stale(row, now),
                       by_worker[row.worker], row.connections, row.hung)
         for row in rows),
        key=lambda digest: digest.stale)


def _stale(row: sa.Row, now: datetime) -> bool:
    return now - row.heartbeat_at > timedelta(seconds=row.beat_seconds * MISSED_BEATS)


def last_seen(session: Session) -> datetime | None:
    """When a digest was last seen running due jobs: the latest start of a run, or
    heartbeat of a run still going (a long run keeps beating); None if none ever ran.
    A digest asked to run one job (Run now) says nothing of the cron's digests."""
    started = session.scalar(sa.select(sa.func.max(runs.c.started_at)))
    beaten = session.scalar(sa.select(sa.func.max(processes.c.heartbeat_at))
                            .where(processes.c.job_id.is_(None)))
    return max((moment for moment in (started, beaten) if moment is not None), default=None)
