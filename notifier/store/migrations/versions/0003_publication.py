"""the publication's own date and id on snapshots and change events

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("snapshot", "change"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("published_on", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
            batch.add_column(sa.Column("publication_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))


def downgrade() -> None:
    for table in ("snapshot", "change"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("publication_id")
            batch.drop_column("published_on")
