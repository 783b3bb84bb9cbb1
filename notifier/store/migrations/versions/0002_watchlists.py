"""watchlists (each subscriber's imported counterparties); digests (held rows folded into one delivery)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watchlist",
        sa.Column("subscriber", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("imported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subscriber"),
    )
    op.create_table(
        "watchlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("dates", sa.Text(), nullable=False),
        sa.Column("identifiers", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_watchlist_entry_subscriber", "watchlist_entry", ["subscriber"], unique=False)
    op.add_column("delivery", sa.Column("folded_into", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("folded_into")
    op.drop_index("ix_watchlist_entry_subscriber", table_name="watchlist_entry")
    op.drop_table("watchlist_entry")
    op.drop_table("watchlist")
