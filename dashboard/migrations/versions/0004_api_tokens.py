"""api tokens: bearer tokens of the HTTP API (name, role, SHA-256 of the secret)

Revision ID: 0004
Revises: 0003

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# The same column helper as 0001.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('last_used_at', Timestamp, nullable=True),
    sa.Column('revoked_at', Timestamp, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('name', name=op.f('uq_api_tokens_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )


def downgrade():
    op.drop_table('api_tokens')
