"""change_index on SQLite: seq as the rowid (INTEGER PRIMARY KEY), so newest-first pages read the table in order

0009 declared seq BIGINT PRIMARY KEY, which SQLite keeps as a separate index: every filtered page then looked each
row up by rowid. Rebuilt here with the same rows; PostgreSQL is unchanged.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = "seq, change_id, source, kind, change, entity_type, programs, name, key, created_at"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # the trigger that fills change_index names it: set aside while the table is rebuilt, then put back as it was
    trigger = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'change_index_insert'"
    ).scalar_one()
    op.execute("DROP TRIGGER change_index_insert")
    op.execute(
        "CREATE TABLE change_index_new (seq INTEGER NOT NULL PRIMARY KEY, "
        "change_id INTEGER NOT NULL REFERENCES change (id) ON DELETE CASCADE, source VARCHAR(100) NOT NULL, "
        "kind VARCHAR(20) NOT NULL, change VARCHAR(10) NOT NULL, entity_type VARCHAR(20), programs TEXT, "
        "name TEXT NOT NULL, key VARCHAR(300) NOT NULL, created_at DATETIME NOT NULL, "
        "CONSTRAINT uq_change_index_change UNIQUE (change_id))"
    )
    op.execute(f"INSERT INTO change_index_new ({COLUMNS}) SELECT {COLUMNS} FROM change_index")
    op.execute("DROP TABLE change_index")
    op.execute("ALTER TABLE change_index_new RENAME TO change_index")
    op.create_index("ix_change_index_source_seq", "change_index", ["source", "seq"], unique=False)
    op.create_index("ix_change_index_created", "change_index", ["created_at"], unique=False)
    op.execute(trigger)


def downgrade() -> None:
    pass  # the same rows and columns either way
