"""lock_due_jobs from the one definition of the claim: the function's text as
dashboard/queue/store/due_jobs.py generates it at this revision

The relation rule, the due states, the paused types' check and the claim's order were
written by hand in this function (migrations 0008, 0010, 0022) and again in SQLite's
claim and in the Core expressions MariaDB's claim and the dashboard use. They now have
one definition (due_jobs.due_read), from which SQLite's claim and this function's text
are generated. The function does what 0022's did, in the generator's words; its text is
frozen here, and tests/integration/test_due_jobs.py checks that the function in a
migrated database is what the generator makes now, so that a change of the rule comes
with a migration like this one.

Revision ID: 0023
Revises: 0022

"""
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
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
  AND (jobs.relation_id IS NULL OR NOT (EXISTS (SELECT *
FROM jobs AS earlier
WHERE earlier.relation_id = jobs.relation_id
  AND earlier.source_id = jobs.source_id
  AND earlier.id < jobs.id
  AND earlier.state IN ('pending', 'running', 'retrying', 'paused', 'failed'))))
  AND NOT ((EXISTS (SELECT *
FROM paused_types
WHERE paused_types.type_code IS NOT NULL))
  AND (EXISTS (SELECT *
FROM requests, paused_types
WHERE requests.job_id = jobs.id
  AND requests.state IN ('pending', 'retrying', 'running')
  AND requests.type_code = paused_types.type_code)))
ORDER BY jobs.priority DESC, jobs.created_at, jobs.id
LIMIT batch FOR UPDATE SKIP LOCKED
$$
"""


def _lock_due_jobs_0022() -> str:
    """The function as migration 0022 wrote it."""
    path = Path(__file__).with_name('0022_paused_types.py')
    spec = spec_from_file_location('paused_types_0022', path)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LOCK_DUE_JOBS % module.HELD_SQL


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(LOCK_DUE_JOBS)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_lock_due_jobs_0022())
