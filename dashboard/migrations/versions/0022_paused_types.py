"""paused types: request types no digest starts now, and the claims that pass over their jobs

A job with a request still to run of a paused type is not due: SQLite's and MariaDB's
claims say so in the application's SQL, PostgreSQL's in its function ``lock_due_jobs``,
written here again whole with that condition (and the order of migration 0010).

Revision ID: 0022
Revises: 0021

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
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
      AND NOT (%s)
    ORDER BY jobs.priority DESC, jobs.created_at, jobs.id
    LIMIT batch
    FOR UPDATE SKIP LOCKED
$$
"""

#: The condition as dashboard/queue/store/pauses.py's HELD_SQL says it at this revision.
HELD_SQL = (
    "EXISTS (SELECT 1 FROM paused_types) AND EXISTS ("
    "SELECT 1 FROM requests JOIN paused_types "
    "ON paused_types.type_code = requests.type_code "
    "WHERE requests.job_id = jobs.id "
    "AND requests.state IN ('pending', 'retrying', 'running'))"
)


Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        'paused_types',
        sa.Column('type_code', sa.String(length=100), nullable=False),
        sa.Column('connector', sa.String(length=100), nullable=True),
        sa.Column('paused_at', Timestamp, nullable=False),
        sa.Column('paused_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('type_code'),
        mysql_charset='utf8mb4', mysql_engine='InnoDB',
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(LOCK_DUE_JOBS % HELD_SQL)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(LOCK_DUE_JOBS.replace('      AND NOT (%s)\n', ''))
    op.drop_table('paused_types')
