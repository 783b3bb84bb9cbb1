"""discovery: the URL a landing page led to, on each snapshot; per source, links seen and page validators

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("snapshot", sa.Column("discovered_url", sa.Text(), nullable=True))
    op.add_column("source_state", sa.Column("discovery", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("discovery")
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("discovered_url")
