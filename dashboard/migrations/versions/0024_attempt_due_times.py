"""attempt due times: when each attempt was due to start, for the queue latency

``attempts.due_at`` is when the request could have started: its job's run-at or retry
time for the first request a digest runs of a claimed job, the previous request's end
for the next ones. Attempts written before this revision keep NULL, and the Types page
leaves them out of its latency figures.

Revision ID: 0024
Revises: 0023

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table('attempts') as batch:
        batch.add_column(sa.Column('due_at', Timestamp, nullable=True))


def downgrade():
    with op.batch_alter_table('attempts') as batch:
        batch.drop_column('due_at')
