"""PostgreSQL: the claim's locking read in a function that walks the due index whatever the
statistics say

On a table that has not been analyzed since a burst of jobs, the planner guessed a few due
jobs where there were thousands: it read every due job, checked each one's relation and
sorted them all, at each claim (3.3 s a claim after 5,000 jobs). ``lock_due_jobs`` runs
that read with sequential scans, bitmap scans and sorts priced out, so its one plan left
walks ``ix_jobs_due`` oldest first and stops at the batch, on a fresh table as on an
analyzed one. A job without a relation is never checked for one (``relation_id IS NULL
OR``, which also keeps the check a probe per job rather than a join the planner may turn
around). ``ROWS 10`` (a batch, not the default guess of 1,000 rows) lets the statement
that leases the jobs and reads their requests reach them by key: with 1,000, on a table
without statistics, it read all of jobs and of requests to join them. The states are
written out as ``ix_jobs_due`` says them, for the same reason as
in ``dashboard/queue/store/claims.py``.

Revision ID: 0008
Revises: 0005

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

LOCK_DUE_JOBS = """
CREATE OR REPLACE FUNCTION lock_due_jobs(due_by timestamp, free_at timestamp, batch integer)
RETURNS SETOF integer
LANGUAGE sql VOLATILE
ROWS 10
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
AS $$
    SELECT jobs.id
    FROM jobs
    WHERE jobs.state IN ('pending', 'retrying')
      AND jobs.next_attempt_at <= due_by
      AND (jobs.locked_until IS NULL OR jobs.locked_until < free_at)
      AND (jobs.relation_id IS NULL OR NOT EXISTS (
            SELECT FROM jobs AS earlier
            WHERE earlier.relation_id = jobs.relation_id
              AND earlier.source_id = jobs.source_id
              AND earlier.id < jobs.id
              AND earlier.state IN ('pending', 'running', 'retrying', 'paused', 'failed')))
    ORDER BY jobs.created_at, jobs.id
    LIMIT batch
    FOR UPDATE SKIP LOCKED
$$
"""


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(LOCK_DUE_JOBS)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS lock_due_jobs(timestamp, timestamp, integer)')
