"""failure alerts: failures awaiting their email, and the alert emails' throttle

Revision ID: 0003
Revises: 0002

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# The same column helpers as 0001.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_channels',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_sent_at', Timestamp, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', Timestamp, nullable=True),
    sa.Column('claimed_by', sa.String(length=255), nullable=True),
    sa.Column('claimed_until', Timestamp, nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_alert_channels')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    op.create_table('failure_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failed_at', Timestamp, nullable=False),
    sa.Column('reason', LongText, nullable=True),
    sa.Column('sent_at', Timestamp, nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_failure_alerts_job_id_jobs'),
        ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failure_alerts')),
    mysql_charset='utf8mb4',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('failure_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_failure_alerts_job_id', ['job_id'], unique=False)
        batch_op.create_index('ix_failure_alerts_sent_at', ['sent_at', 'id'], unique=False)


def downgrade():
    # Dropping the table drops its indexes (MariaDB refuses to drop the foreign key's first).
    op.drop_table('failure_alerts')
    op.drop_table('alert_channels')
