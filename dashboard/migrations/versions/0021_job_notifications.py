"""job notifications: PostgreSQL tells --loop digests of new and newly due jobs; each
digest's row says its pid namespace, connections and hung calls

On PostgreSQL, triggers on ``jobs`` send ``NOTIFY queue_jobs`` when a statement inserts
jobs (a save of any kind: the library, the CLI, the API, a batch, a schedule's slot), and
when an update leaves a job due and free (an operator's retry, resume or run-now, a
digest giving a job back, a retry scheduled). PostgreSQL delivers it on commit, and only
then: a listening digest claims what the saving transaction wrote. The insert trigger
runs once a statement, so a save of 1,000 jobs sends one notification; the update
trigger's WHEN is checked without calling the function, so a claim, a lease renewal or
an outcome that ends a job sends none. See ``dashboard/queue/database/wakeup.py``.

``digest_processes`` gains what the Digests page shows of a live digest, and what a
digest starting on the same host needs to tell that a process of an earlier row is gone.

Revision ID: 0021
Revises: 0020

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

#: The channel; the same name as ``dashboard.queue.database.wakeup.CHANNEL``.
FUNCTION = """
CREATE OR REPLACE FUNCTION queue_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('queue_jobs', '');
    RETURN NULL;
END
$$
"""
INSERTED = """
CREATE TRIGGER jobs_inserted_notify AFTER INSERT ON jobs
FOR EACH STATEMENT EXECUTE FUNCTION queue_jobs_notify()
"""
DUE_AGAIN = """
CREATE TRIGGER jobs_due_notify AFTER UPDATE OF state, next_attempt_at, locked_by ON jobs
FOR EACH ROW WHEN (NEW.state IN ('pending', 'retrying') AND NEW.locked_by IS NULL)
EXECUTE FUNCTION queue_jobs_notify()
"""


def upgrade():
    with op.batch_alter_table('digest_processes') as table:
        table.add_column(sa.Column('pid_namespace', sa.String(length=32), nullable=True))
        table.add_column(sa.Column('connections', sa.Integer(), nullable=True))
        table.add_column(sa.Column('hung', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(FUNCTION)
    op.execute(INSERTED)
    op.execute(DUE_AGAIN)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS jobs_due_notify ON jobs')
        op.execute('DROP TRIGGER IF EXISTS jobs_inserted_notify ON jobs')
        op.execute('DROP FUNCTION IF EXISTS queue_jobs_notify()')
    with op.batch_alter_table('digest_processes') as table:
        table.drop_column('hung')
        table.drop_column('connections')
        table.drop_column('pid_namespace')
