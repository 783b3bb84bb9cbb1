"""change browsing indexes: newest-first pages and feeds over any filter without reading the payloads

`ix_change_browse` holds every column the web filters on, in cursor order, so a filtered page, a feed or a count
scans this narrow index instead of the table (whose rows carry the before/after payloads).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BROWSE = ["seq", "source", "kind", "change", "entity_type", "created_at", "programs", "name", "key"]


def upgrade() -> None:
    op.create_index("ix_change_browse", "change", BROWSE, unique=False)
    op.create_index("ix_change_source_seq", "change", ["source", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_change_source_seq", table_name="change")
    op.drop_index("ix_change_browse", table_name="change")
