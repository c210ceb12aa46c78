"""list sorting: indexes that walk the job list by next attempt and by failed-at

The job list sorts by next attempt (soonest first, due jobs only) and by when a job
failed (latest first, failed jobs only), a page at a time from a keyset cursor. Each
order reads its own index from the cursor on, however many jobs there are: the next
attempt's index holds only due jobs where the database allows a partial index.

Revision ID: 0012_list_sorting
Revises: 0011

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_list_sorting'
down_revision = '0011'
branch_labels = None
depends_on = None

DUE = sa.text("state IN ('pending', 'retrying')")


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_next_attempt', ['next_attempt_at', 'id'], unique=False,
                              postgresql_where=DUE, sqlite_where=DUE)
        batch_op.create_index('ix_jobs_failed_at', ['state', 'finished_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_failed_at')
        batch_op.drop_index('ix_jobs_next_attempt', postgresql_where=DUE, sqlite_where=DUE)
