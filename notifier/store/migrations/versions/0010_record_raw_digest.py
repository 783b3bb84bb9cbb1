"""record.raw_digest (a digest of a record's published form, from adapters that build on demand) and
a covering index of what a poll reads of the active records

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("record") as batch:
        batch.add_column(sa.Column("raw_digest", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_record_active_state",
        "record",
        ["source", "key", "hash", "raw_digest"],
        sqlite_where=sa.text("removed_at IS NULL"),
        postgresql_where=sa.text("removed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_record_active_state", table_name="record")
    with op.batch_alter_table("record") as batch:
        batch.drop_column("raw_digest")
