"""Traceparent: the W3C trace context each message is stored with (traces on), so the job that
handles it continues the webhook's trace in whichever process, or after a restart; and a status
webhook's span links to the trace of the message it reports on.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-16
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("traceparent")
