"""Media: what a message carries besides its text (app/media/): a file's kind, type, size, name,
Meta's checksum, where it stands (pending, stored, failed) and its blob's key; a location; shared
contacts. JSON in one nullable column, NULL on every text message.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attachment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachment")
