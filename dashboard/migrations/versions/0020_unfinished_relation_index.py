"""waiting jobs' indexes: whether an earlier job holds a job back, in one index entry

The dashboard's due and blocked lists and counts, and the claims, ask of each waiting job
whether an earlier unfinished job of its relation exists. Through ix_jobs_relation that
walked every earlier job of the relation, finished ones included, and read each one's
state from the table; this index holds only the unfinished jobs of a relation, so the
question is one index entry read. On PostgreSQL and SQLite (MariaDB has no partial index
and keeps asking ix_jobs_relation). And ix_jobs_state_next_attempt, which finds the jobs
whose time has come, also holds their relation, source and id: counting due and blocked
jobs reads no table row.

Building an index locks its table against writes while it runs: on a large queue,
migrate while the digests and the web are stopped.

Revision ID: 0020
Revises: 0018

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None

HOLDS_BACK = ("relation_id IS NOT NULL AND state IN "
              "('pending', 'running', 'retrying', 'paused', 'failed')")


WAITING = ['state', 'next_attempt_at', 'relation_id', 'source_id', 'id']


def upgrade():
    bind = op.get_bind()
    op.drop_index('ix_jobs_state_next_attempt', table_name='jobs')
    op.create_index('ix_jobs_state_next_attempt', 'jobs', WAITING)
    if bind.dialect.name not in ('postgresql', 'sqlite'):
        return
    op.create_index('ix_jobs_unfinished_relation', 'jobs', ['relation_id', 'source_id', 'id'],
                    postgresql_where=sa.text(HOLDS_BACK), sqlite_where=sa.text(HOLDS_BACK))
    if bind.dialect.name == 'sqlite' and bind.scalar(sa.text(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")):
        # Statistics of the other indexes but none of this one: SQLite's planner would
        # rather keep to ix_jobs_relation.
        op.execute('ANALYZE ix_jobs_unfinished_relation')
        op.execute('ANALYZE ix_jobs_state_next_attempt')


def downgrade():
    op.drop_index('ix_jobs_state_next_attempt', table_name='jobs')
    op.create_index('ix_jobs_state_next_attempt', 'jobs', ['state', 'next_attempt_at'])
    if op.get_bind().dialect.name not in ('postgresql', 'sqlite'):
        return
    op.drop_index('ix_jobs_unfinished_relation', table_name='jobs')
