"""digest writes in place: no index on what it rewrites, room on each page

The digest writes a request's row twice an attempt (running, then its outcome) and a
job's lease at each claim and heartbeat. Two indexes served no query that needs them:
requests (state, updated_at), and jobs (state, locked_until), whose one reader, the
search for expired leases, finds the few running jobs through ix_jobs_state_id. With
them, each of those writes added a row version to every index of the table (on
requests, the trigram indexes of the payload included). Without them the writes touch no
indexed column, and PostgreSQL updates the row in place (a HOT update) when its page has
room: fillfactor 80 leaves that room.

Revision ID: 0005
Revises: 0004

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_state')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_locked_until')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE requests SET (fillfactor = 80)')
        op.execute('ALTER TABLE jobs SET (fillfactor = 80)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE jobs RESET (fillfactor)')
        op.execute('ALTER TABLE requests RESET (fillfactor)')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_locked_until', ['state', 'locked_until'], unique=False)
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index('ix_requests_state', ['state', 'updated_at'], unique=False)
