"""partial list indexes: no entry for a job without a store, a schedule or an end

Three of the job list's indexes hold only the jobs they can find: by store, the jobs
that have one; by failed-at, the jobs that finished; and the schedule slot's unique index,
the jobs of a recurring schedule. A new job of none of these (most of them) no longer
writes an entry into each of the three on enqueue: each index a job is written into costs
every save (docs/benchmarks.md). Every query of these indexes names a value of the
column, which tells the database the index holds the rows it asks for. On PostgreSQL and
SQLite; MariaDB has no partial index and keeps its full ones.

Rebuilding an index locks the jobs table against writes while it runs: on a large queue,
migrate while the digests and the web are stopped.

Revision ID: 0014
Revises: 0013

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_jobs_store_id', ['store_id', 'id'], False, 'store_id IS NOT NULL'),
    ('ix_jobs_failed_at', ['state', 'finished_at', 'id'], False, 'finished_at IS NOT NULL'),
    ('ux_jobs_schedule_slot', ['schedule_name', 'schedule_slot'], True,
     'schedule_name IS NOT NULL'),
)


def _partial() -> bool:
    return op.get_bind().dialect.name in ('postgresql', 'sqlite')


def upgrade():
    if not _partial():
        return
    for name, columns, unique, where in INDEXES:
        op.drop_index(name, table_name='jobs')
        op.create_index(name, 'jobs', columns, unique=unique,
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade():
    if not _partial():
        return
    for name, columns, unique, _where in INDEXES:
        op.drop_index(name, table_name='jobs')
        op.create_index(name, 'jobs', columns, unique=unique)
