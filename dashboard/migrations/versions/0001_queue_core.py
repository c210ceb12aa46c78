"""queue core: jobs, requests, attempts, digest runs

Revision ID: 0001
Revises:

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Times carry microseconds everywhere (MariaDB's DATETIME drops them unless told);
# long texts exceed MariaDB's 64 KiB TEXT.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=255), nullable=False),
    sa.Column('started_at', Timestamp, nullable=False),
    sa.Column('finished_at', Timestamp, nullable=True),
    sa.Column('jobs', sa.Integer(), nullable=False),
    sa.Column('succeeded', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('retrying', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.create_index('ix_digest_runs_started_at', ['started_at'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('relation_id', sa.String(length=255), nullable=True),
    sa.Column('source_id', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('pending', 'running', 'retrying', 'paused', 'completed', 'failed',
        'cancelled', name='jobstate', native_enum=False, length=16), nullable=False),
    sa.Column('next_attempt_at', Timestamp, nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('updated_at', Timestamp, nullable=False),
    sa.Column('finished_at', Timestamp, nullable=True),
    sa.Column('locked_by', sa.String(length=255), nullable=True),
    sa.Column('locked_until', Timestamp, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_due', ['created_at', 'id'], unique=False,
            postgresql_where=sa.text("state IN ('pending', 'retrying')"),
            sqlite_where=sa.text("state IN ('pending', 'retrying')"))
        batch_op.create_index('ix_jobs_locked_until', ['state', 'locked_until'], unique=False)
        batch_op.create_index('ix_jobs_relation', ['relation_id', 'source_id', 'id'], unique=False)
        batch_op.create_index('ix_jobs_source_id', ['source_id', 'id'], unique=False)
        batch_op.create_index('ix_jobs_state_id', ['state', 'id'], unique=False)
        batch_op.create_index('ix_jobs_store_id', ['store_id', 'id'], unique=False)

    op.create_table('requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=100), nullable=False),
    sa.Column('payload', LongText, nullable=False),
    sa.Column('state', sa.Enum('pending', 'running', 'succeeded', 'retrying', 'failed',
        'cancelled', name='requeststate', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', LongText, nullable=True),
    sa.Column('result', LongText, nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('updated_at', Timestamp, nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_requests_job_id_jobs'),
        ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requests')),
    sa.UniqueConstraint('job_id', 'position', name=op.f('uq_requests_job_id')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index('ix_requests_state', ['state', 'updated_at'], unique=False)
        batch_op.create_index('ix_requests_type_code', ['type_code', 'job_id'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', Timestamp, nullable=False),
    sa.Column('finished_at', Timestamp, nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', LongText, nullable=True),
    sa.Column('traceback', LongText, nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
        name=op.f('fk_attempts_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('request_id', 'number', name=op.f('uq_attempts_request_id')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_finished_at', ['finished_at'], unique=False)



def downgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_finished_at')

    op.drop_table('attempts')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_type_code')
        batch_op.drop_index('ix_requests_state')

    op.drop_table('requests')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_store_id')
        batch_op.drop_index('ix_jobs_state_id')
        batch_op.drop_index('ix_jobs_source_id')
        batch_op.drop_index('ix_jobs_relation')
        batch_op.drop_index('ix_jobs_locked_until')
        batch_op.drop_index('ix_jobs_due',
            postgresql_where=sa.text("state IN ('pending', 'retrying')"),
            sqlite_where=sa.text("state IN ('pending', 'retrying')"))

    op.drop_table('jobs')
    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_runs_started_at')

    op.drop_table('digest_runs')
