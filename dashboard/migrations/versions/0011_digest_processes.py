"""digest processes: each running digest, its host, pid, concurrency and heartbeat

The Digests page lists them; a digest writes its row when a run starts, beats it while
the run lasts and deletes it when the run ends. A killed digest's row stays, marked
stale, until a later digest prunes it a day on.

Revision ID: 0011
Revises: 0010_scheduling

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# The same column helper as 0001.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010_scheduling'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_processes',
    sa.Column('worker', sa.String(length=255), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', Timestamp, nullable=False),
    sa.Column('heartbeat_at', Timestamp, nullable=False),
    sa.Column('beat_seconds', sa.Double(), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('worker', name=op.f('pk_digest_processes')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )


def downgrade():
    op.drop_table('digest_processes')
