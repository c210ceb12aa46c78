"""scheduling: a job's priority and unique key; claims by priority, then age

jobs.priority (-100..100, 0 for the jobs already stored) orders the claim: ix_jobs_due
becomes (priority DESC, created_at, id), and PostgreSQL's lock_due_jobs (migration 0008)
walks it in that order. jobs.unique_key is unique among active jobs (any state but
completed or cancelled): a partial unique index on PostgreSQL and SQLite; on MariaDB,
which has no partial index, a unique index on a generated column that holds the key while
the job is active and NULL afterwards (NULLs never collide). MariaDB's claim reads its
pending jobs through ix_jobs_due_by_state (state, priority DESC, created_at, id), as it
read them through ix_jobs_state_id before. The job list's priority filter reads
ix_jobs_priority. A scheduled job (run at, delay) needs no
column: its next_attempt_at is the time it may run.

Revision ID: 0010_scheduling
Revises: 0009

"""
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_scheduling'
down_revision = '0009'
branch_labels = None
depends_on = None

DUE = sa.text("state IN ('pending', 'retrying')")
ACTIVE_UNIQUE_KEY = sa.text("unique_key IS NOT NULL AND state NOT IN ('completed', 'cancelled')")
OLD_ORDER = 'ORDER BY jobs.created_at, jobs.id'
NEW_ORDER = 'ORDER BY jobs.priority DESC, jobs.created_at, jobs.id'


def _lock_due_jobs_0008() -> str:
    """The function as migration 0008 wrote it: this one changes its order only."""
    path = Path(__file__).with_name('0008_cold_claim.py')
    spec = spec_from_file_location('cold_claim_0008', path)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    assert OLD_ORDER in module.LOCK_DUE_JOBS
    return module.LOCK_DUE_JOBS


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('unique_key', sa.String(length=255), nullable=True))
    op.drop_index('ix_jobs_due', table_name='jobs')
    op.create_index('ix_jobs_due', 'jobs', [sa.text('priority DESC'), 'created_at', 'id'],
                    postgresql_where=DUE, sqlite_where=DUE)
    op.create_index('ix_jobs_priority', 'jobs', ['priority', 'id'])
    if dialect in ('mysql', 'mariadb'):
        op.execute("ALTER TABLE jobs ADD COLUMN active_unique_key VARCHAR(255) AS "
                   "(CASE WHEN state IN ('completed', 'cancelled') THEN NULL "
                   "ELSE unique_key END) VIRTUAL")
        op.execute('CREATE UNIQUE INDEX ux_jobs_active_unique_key ON jobs (active_unique_key)')
        op.execute('CREATE INDEX ix_jobs_due_by_state ON jobs '
                   '(state, priority DESC, created_at, id)')
    else:
        op.create_index('ux_jobs_unique_key', 'jobs', ['unique_key'], unique=True,
                        postgresql_where=ACTIVE_UNIQUE_KEY, sqlite_where=ACTIVE_UNIQUE_KEY)
    if dialect == 'postgresql':
        op.execute(_lock_due_jobs_0008().replace(OLD_ORDER, NEW_ORDER))


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(_lock_due_jobs_0008())
    if dialect in ('mysql', 'mariadb'):
        op.execute('DROP INDEX ix_jobs_due_by_state ON jobs')
        op.execute('DROP INDEX ux_jobs_active_unique_key ON jobs')
        op.execute('ALTER TABLE jobs DROP COLUMN active_unique_key')
    else:
        op.drop_index('ux_jobs_unique_key', table_name='jobs')
    op.drop_index('ix_jobs_priority', table_name='jobs')
    op.drop_index('ix_jobs_due', table_name='jobs')
    # Before ix_jobs_due comes back: SQLite copies the table to drop a column.
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('unique_key')
        batch_op.drop_column('priority')
    op.create_index('ix_jobs_due', 'jobs', ['created_at', 'id'],
                    postgresql_where=DUE, sqlite_where=DUE)
