"""sessions and scopes: server-side login sessions, failed logins per account, token sources

- login_sessions: one row per signed-in browser (the SHA-256 of its cookie's key), so
  that logout and the idle and absolute expiries end a session for every copy of it.
- login_failures: counted per account whatever the address, so its index leads with the
  name alone.
- api_token_sources: the sources a token is limited to (none: all of them).

Revision ID: 0007
Revises: 0005

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# The same column helper as 0001.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
TABLE = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('last_seen_at', Timestamp, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
        name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_login_sessions_key_hash')),
    **TABLE
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_login_sessions_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_login_sessions_created_at', ['created_at'], unique=False)

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_name')
        batch_op.create_index('ix_login_failures_name', ['name', 'failed_at'], unique=False)

    op.create_table('api_token_sources',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'],
        name=op.f('fk_api_token_sources_token_id_api_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', 'source_id', name=op.f('pk_api_token_sources')),
    **TABLE
    )


def downgrade():
    op.drop_table('api_token_sources')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_name')
        batch_op.create_index('ix_login_failures_name', ['name', 'address', 'failed_at'],
            unique=False)
    op.drop_table('login_sessions')  # with its indexes
