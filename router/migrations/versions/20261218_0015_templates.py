"""Templates: an outbound message may be a template; its `name`, `language` and `components` are
kept as JSON in the row, so the API and the conversation show what was sent.

Revision ID: 0015
Revises: 0018
Create Date: 2026-12-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("template", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by copying the table: batch mode does that.
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("template")
