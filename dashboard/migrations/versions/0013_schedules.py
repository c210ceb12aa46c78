"""recurring schedules: the jobs' schedule slot, and each schedule's state

A job enqueued by a recurring schedule (QUEUE_SCHEDULE) carries the entry's name and the
slot it stands for; a unique index over the two lets exactly one job be made a slot,
across every digest. The schedules table keeps since when each entry is known and its
latest slot enqueued.

Revision ID: 0013
Revises: 0012_list_sorting

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012_list_sorting'
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('schedule_slot', Timestamp, nullable=True))
        batch_op.create_index('ux_jobs_schedule_slot', ['schedule_name', 'schedule_slot'],
                              unique=True)
    op.create_table(
        'schedules',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('since', Timestamp, nullable=False),
        sa.Column('last_slot', Timestamp, nullable=True),
        sa.PrimaryKeyConstraint('name'),
        mysql_charset='utf8mb4', mysql_engine='InnoDB',
    )


def downgrade():
    op.drop_table('schedules')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ux_jobs_schedule_slot')
        batch_op.drop_column('schedule_slot')
        batch_op.drop_column('schedule_name')
