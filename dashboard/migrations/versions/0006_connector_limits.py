"""connector limits: each limited connector's shared budget, and its calls in flight

Revision ID: 0006
Revises: 0005

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# The same column helper as 0001.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connectors',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rate_limit', sa.Double(), nullable=True),
    sa.Column('max_in_flight', sa.Integer(), nullable=True),
    sa.Column('next_call_at', sa.Double(), nullable=False),
    sa.Column('in_flight', sa.Integer(), nullable=False),
    sa.Column('updated_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_connectors')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    op.create_table('connector_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector', sa.String(length=100), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=255), nullable=False),
    sa.Column('started_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connector_calls')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('connector_calls', schema=None) as batch_op:
        batch_op.create_index('ix_connector_calls_connector', ['connector', 'id'], unique=False)


def downgrade():
    op.drop_table('connector_calls')
    op.drop_table('connectors')
