"""search copy of payloads, secrets masked; secrets hidden in stored errors

The job list's text search read the payloads and errors as stored, so a search could
match inside a masked value and recover it a character at a time. It now reads
requests.payload_search, a copy of the payload with the secret keys' values masked (and
hidden wherever else they appear), and last_error, in which the digest now hides the
request's secrets before storing it. This migration fills the copy for the requests
already stored and hides their secrets in their last error, with the QUEUE_MASKED_KEYS of
the app that runs it. On PostgreSQL the payload's trigram index moves to the copy.

Revision ID: 0009
Revises: 0005

"""
import sqlalchemy as sa
from alembic import op
from flask import current_app
from sqlalchemy.dialects import mysql

from dashboard.queue.jobs import search_copy
from dashboard.queue.jobs.masking import Masker

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload_search', LongText, nullable=True))
    for _ in search_copy.refresh(op.get_bind(), Masker(current_app.config['QUEUE_MASKED_KEYS'])):
        pass
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.alter_column('payload_search', existing_type=LongText, nullable=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_requests_payload_trgm')
        op.execute('CREATE INDEX ix_requests_payload_search_trgm ON requests '
                   'USING gin (payload_search gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_requests_payload_search_trgm')
        op.execute('CREATE INDEX ix_requests_payload_trgm ON requests '
                   'USING gin (payload gin_trgm_ops)')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('payload_search')
