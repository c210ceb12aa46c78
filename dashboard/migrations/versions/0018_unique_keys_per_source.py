"""unique keys per source: an active job's unique key is unique within its source_id

The unique index over active jobs' keys (migration 0010) becomes one over (source_id,
unique_key), so a key one source uses never blocks, nor reveals, another source's jobs.
Every key stored stays where it is: keys unique across all sources are unique within
each, so the new index takes every row as it is. On PostgreSQL and SQLite the partial
index is rebuilt; on MariaDB the unique index on the generated column
``active_unique_key`` gets source_id in front.

Downgrading makes keys unique across sources again: it stops, naming the keys, when two
sources' active jobs share one (cancel or finish one of them first), rather than lose a job.

Revision ID: 0018
Revises: 0017

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

ACTIVE_UNIQUE_KEY = sa.text("unique_key IS NOT NULL AND state NOT IN ('completed', 'cancelled')")


def _index(columns):
    """The unique index over active jobs' keys, rebuilt over ``columns`` (in front of the
    key: MariaDB's generated column, elsewhere the partial index's column)."""
    if op.get_bind().dialect.name in ('mysql', 'mariadb'):
        op.execute('DROP INDEX ux_jobs_active_unique_key ON jobs')
        op.execute('CREATE UNIQUE INDEX ux_jobs_active_unique_key ON jobs '
                   f"({', '.join([*columns, 'active_unique_key'])})")
    else:
        op.drop_index('ux_jobs_unique_key', table_name='jobs')
        op.create_index('ux_jobs_unique_key', 'jobs', [*columns, 'unique_key'], unique=True,
                        postgresql_where=ACTIVE_UNIQUE_KEY, sqlite_where=ACTIVE_UNIQUE_KEY)


def upgrade():
    _index(['source_id'])


def downgrade():
    shared = op.get_bind().execute(sa.text(
        f"SELECT unique_key FROM jobs WHERE {ACTIVE_UNIQUE_KEY.text} "
        "GROUP BY unique_key HAVING COUNT(*) > 1 ORDER BY unique_key")).scalars().all()
    if shared:
        raise RuntimeError(
            f"{len(shared)} unique keys are held by active jobs of several sources "
            f"(e.g. {', '.join(map(repr, shared[:5]))}): cancel or finish all but one "
            "job of each key, then downgrade again")
    _index([])
