"""clocks and schedule controls: each host's clock against the database's, and a
schedule entry's switch and last error

``host_clocks`` holds, per host, how far its clock was from the database server's when a
digest last measured it (the Digests page warns past QUEUE_CLOCK_SKEW_WARN). The
``schedules`` table gains ``disabled`` (an operator's switch, kept across restarts: a
disabled entry makes no jobs) and the error its last run raised, if any.

Revision ID: 0017
Revises: 0015

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        'host_clocks',
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('offset_seconds', sa.Double(), nullable=False),
        sa.Column('measured_at', Timestamp, nullable=False),
        sa.PrimaryKeyConstraint('host'),
        mysql_charset='utf8mb4', mysql_engine='InnoDB',
    )
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('error', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('error_at', Timestamp, nullable=True))


def downgrade():
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_column('error_at')
        batch_op.drop_column('error')
        batch_op.drop_column('disabled')
    op.drop_table('host_clocks')
