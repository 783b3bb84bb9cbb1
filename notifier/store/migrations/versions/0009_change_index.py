"""change_index: the commit-ordered cursor and the browse columns in a narrow table of their own

Supersedes the `change.seq` / `change.entity_type` / `change.programs` columns of 0004 (left in place, no longer
written) and the browse indexes of 0007: updating every change row at commit wrote each row twice, and filtered
pages scanned the wide change rows. Now one narrow row per change is inserted at commit:

- PostgreSQL: a deferred constraint trigger runs at COMMIT under one transaction-scoped advisory lock and takes
  `seq` from a sequence there, so seq order is commit order: a reader that has seen seq N never later finds a
  committed seq below N (ids from the change sequence are taken at insert and may commit out of order).
- SQLite: one writer at a time; seq is the change id.

A later migration that rebuilds the `change` table on SQLite (batch "move and copy") must recreate the trigger.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SEQ_LOCK = 7405542  # pg advisory lock key of the commit-ordered change sequence

PG_INDEX = f"""
CREATE OR REPLACE FUNCTION change_index_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  doc jsonb;
  etype text;
  progs text;
BEGIN
  BEGIN
    doc := coalesce(NEW.after, NEW.before)::jsonb;
    etype := left(doc ->> 'entity_type', 20);
    IF jsonb_typeof(doc -> 'programs') = 'array' AND jsonb_array_length(doc -> 'programs') > 0 THEN
      progs := '|' || (SELECT string_agg(v, '|') FROM jsonb_array_elements_text(doc -> 'programs') v) || '|';
    END IF;
  EXCEPTION WHEN others THEN
    NULL;  -- a payload that is not JSON only loses its filter columns; the change itself is always indexed
  END;
  PERFORM pg_advisory_xact_lock({SEQ_LOCK});
  INSERT INTO change_index (seq, change_id, source, kind, change, entity_type, programs, name, key, created_at)
  VALUES (nextval('change_seq'), NEW.id, NEW.source, NEW.kind, NEW.change, etype, progs, NEW.name, NEW.key,
          NEW.created_at);
  RETURN NULL;
END $$;
"""
SQLITE_FACETS = """
  CASE WHEN json_valid(coalesce({row}after, {row}before))
    THEN substr(json_extract(coalesce({row}after, {row}before), '$.entity_type'), 1, 20) END,
  CASE WHEN json_valid(coalesce({row}after, {row}before))
    AND json_type(coalesce({row}after, {row}before), '$.programs') = 'array'
    AND json_array_length(coalesce({row}after, {row}before), '$.programs') > 0
    THEN '|' || (SELECT group_concat(value, '|') FROM json_each(coalesce({row}after, {row}before), '$.programs'))
      || '|' END
"""


def upgrade() -> None:
    op.create_table(
        "change_index",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("change_id", sa.Integer(), sa.ForeignKey("change.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("change", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("programs", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("change_id", name="uq_change_index_change"),
    )
    op.execute(
        "INSERT INTO change_index (seq, change_id, source, kind, change, entity_type, programs, name, key, created_at) "
        "SELECT coalesce(seq, id), id, source, kind, change, entity_type, programs, name, key, created_at FROM change"
    )
    op.create_index("ix_change_index_source_seq", "change_index", ["source", "seq"], unique=False)
    op.create_index("ix_change_index_created", "change_index", ["created_at"], unique=False)
    op.drop_index("ix_change_browse", table_name="change")
    op.drop_index("ix_change_source_seq", table_name="change")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS change_commit_seq ON change")
        op.execute("DROP TRIGGER IF EXISTS change_facets ON change")
        op.execute("DROP FUNCTION IF EXISTS change_commit_seq()")
        op.execute("DROP FUNCTION IF EXISTS change_facets()")
        op.execute("SELECT setval('change_seq', (SELECT coalesce(max(seq), 0) + 1 FROM change_index), false)")
        op.execute(PG_INDEX)
        op.execute(
            "CREATE CONSTRAINT TRIGGER change_index_at_commit AFTER INSERT ON change "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION change_index_at_commit()"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS change_derived")
        op.execute(
            "CREATE TRIGGER change_index_insert AFTER INSERT ON change BEGIN "
            "INSERT INTO change_index (seq, change_id, source, kind, change, entity_type, programs, name, key, "
            "created_at) VALUES (NEW.id, NEW.id, NEW.source, NEW.kind, NEW.change, "
            + SQLITE_FACETS.format(row="NEW.")
            + ", NEW.name, NEW.key, NEW.created_at); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS change_index_at_commit ON change")
        op.execute("DROP FUNCTION IF EXISTS change_index_at_commit()")
    else:
        op.execute("DROP TRIGGER IF EXISTS change_index_insert")
    op.create_index("ix_change_source_seq", "change", ["source", "seq"], unique=False)
    op.create_index(
        "ix_change_browse",
        "change",
        ["seq", "source", "kind", "change", "entity_type", "created_at", "programs", "name", "key"],
        unique=False,
    )
    op.drop_index("ix_change_index_created", table_name="change_index")
    op.drop_index("ix_change_index_source_seq", table_name="change_index")
    op.drop_table("change_index")
