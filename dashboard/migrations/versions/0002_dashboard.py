"""dashboard: users, login failures, audit log, hourly attempt counts, list indexes

Revision ID: 0002
Revises: 0001

On PostgreSQL, the job list's text search gets trigram indexes (the pg_trgm extension,
trusted since PostgreSQL 13, so the database owner may create it). SQLite and MariaDB
search payloads by scanning.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
TABLE = dict(mysql_charset='utf8mb4', mysql_engine='InnoDB')

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {
    'ix_requests_payload_trgm': 'payload',
    'ix_requests_last_error_trgm': 'last_error',
}


def upgrade():
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('login_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('login_id', name=op.f('uq_users_login_id')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    **TABLE
    )
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failed_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')),
    **TABLE
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_address', ['address', 'failed_at'], unique=False)
        batch_op.create_index('ix_login_failures_name', ['name', 'address', 'failed_at'],
            unique=False)

    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', Timestamp, nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('job_count', sa.Integer(), nullable=False),
    sa.Column('filter', sa.Text(), nullable=True),
    sa.Column('detail', LongText, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    **TABLE
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_action', ['action', 'id'], unique=False)
        batch_op.create_index('ix_audit_entries_actor', ['actor', 'id'], unique=False)

    op.create_table('audit_jobs',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['audit_entries.id'],
        name=op.f('fk_audit_jobs_entry_id_audit_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'job_id', name=op.f('pk_audit_jobs')),
    **TABLE
    )
    with op.batch_alter_table('audit_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_audit_jobs_job_id', ['job_id', 'entry_id'], unique=False)

    op.create_table('attempt_hours',
    sa.Column('hour', Timestamp, nullable=False),
    sa.Column('type_code', sa.String(length=100), nullable=False),
    sa.Column('succeeded', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('hour', 'type_code', name=op.f('pk_attempt_hours')),
    **TABLE
    )

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_state_next_attempt', ['state', 'next_attempt_at'],
            unique=False)
        batch_op.create_index('ix_jobs_created_at', ['created_at', 'id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON requests USING gin ({column} gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in TRIGRAM_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_created_at')
        batch_op.drop_index('ix_jobs_state_next_attempt')

    op.drop_table('attempt_hours')
    with op.batch_alter_table('audit_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_jobs_job_id')
    op.drop_table('audit_jobs')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_actor')
        batch_op.drop_index('ix_audit_entries_action')
    op.drop_table('audit_entries')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_name')
        batch_op.drop_index('ix_login_failures_address')
    op.drop_table('login_failures')
    op.drop_table('users')
