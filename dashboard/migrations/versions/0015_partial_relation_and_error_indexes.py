"""partial relation and error indexes: no entry for a job without a relation, or for a
request without an error

Two more indexes hold only the rows they can find, as those of migration 0014: the jobs
of a relation (the claim asks only about them, and the job list filters by one), and, on
PostgreSQL, the trigram index of the requests' stored errors (which held an entry for the
NULL of every request that never failed). Every query of them names a value of the
column, which tells the database the index holds the rows it asks for. On PostgreSQL and
SQLite (the error index is PostgreSQL's only); MariaDB has no partial index and keeps its
full one.

Rebuilding an index locks its table against writes while it runs: on a large queue,
migrate while the digests and the web are stopped.

Revision ID: 0015
Revises: 0014

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

IN_A_RELATION = 'relation_id IS NOT NULL'
ERROR_INDEX = ('CREATE INDEX ix_requests_last_error_trgm ON requests '
               'USING gin (last_error gin_trgm_ops)')


def upgrade():
    kind = op.get_bind().dialect.name
    if kind not in ('postgresql', 'sqlite'):
        return
    op.drop_index('ix_jobs_relation', table_name='jobs')
    op.create_index('ix_jobs_relation', 'jobs', ['relation_id', 'source_id', 'id'],
                    postgresql_where=sa.text(IN_A_RELATION),
                    sqlite_where=sa.text(IN_A_RELATION))
    if kind == 'postgresql':
        op.execute('DROP INDEX ix_requests_last_error_trgm')
        op.execute(ERROR_INDEX + ' WHERE last_error IS NOT NULL')


def downgrade():
    kind = op.get_bind().dialect.name
    if kind not in ('postgresql', 'sqlite'):
        return
    op.drop_index('ix_jobs_relation', table_name='jobs')
    op.create_index('ix_jobs_relation', 'jobs', ['relation_id', 'source_id', 'id'])
    if kind == 'postgresql':
        op.execute('DROP INDEX ix_requests_last_error_trgm')
        op.execute(ERROR_INDEX)
