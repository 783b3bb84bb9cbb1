"""web: a commit-ordered change cursor (change.seq), filter columns (entity_type, programs), API tokens, web audit

`change.seq` is written by the database, not by the writer. On PostgreSQL ids from a sequence are taken at insert
and become visible at commit, in any order: a reader that hands out "everything above id N" would skip a change
whose transaction started first and committed last. So `seq` is assigned by a deferred constraint trigger, which
runs at commit under one transaction-scoped advisory lock: seq order is commit order, and a reader that has seen
seq N will never later find a committed seq below N. SQLite has one writer at a time: seq is the id.
A later migration that rebuilds the `change` table on SQLite (batch "move and copy") must recreate the trigger.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEQ_LOCK = 7405542  # pg advisory lock key of the commit-ordered change sequence (0001 uses 7405541 for migrations)

PG_FACETS = """
CREATE OR REPLACE FUNCTION change_facets() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  doc jsonb;
BEGIN
  BEGIN
    doc := coalesce(NEW.after, NEW.before)::jsonb;
    NEW.entity_type := left(doc ->> 'entity_type', 20);
    IF jsonb_typeof(doc -> 'programs') = 'array' AND jsonb_array_length(doc -> 'programs') > 0 THEN
      NEW.programs := '|' || (SELECT string_agg(v, '|') FROM jsonb_array_elements_text(doc -> 'programs') v) || '|';
    END IF;
  EXCEPTION WHEN others THEN
    NULL;  -- a payload that is not JSON only loses its filter columns; the change itself is always written
  END;
  RETURN NEW;
END $$;
"""
PG_SEQ = f"""
CREATE OR REPLACE FUNCTION change_commit_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock({SEQ_LOCK});
  UPDATE change SET seq = nextval('change_seq') WHERE id = NEW.id;
  RETURN NULL;
END $$;
"""
SQLITE_FACETS = """
  entity_type = CASE WHEN json_valid(coalesce({row}after, {row}before))
    THEN substr(json_extract(coalesce({row}after, {row}before), '$.entity_type'), 1, 20) END,
  programs = CASE WHEN json_valid(coalesce({row}after, {row}before))
    AND json_type(coalesce({row}after, {row}before), '$.programs') = 'array'
    AND json_array_length(coalesce({row}after, {row}before), '$.programs') > 0
    THEN '|' || (SELECT group_concat(value, '|') FROM json_each(coalesce({row}after, {row}before), '$.programs'))
      || '|' END
"""


def upgrade() -> None:
    with op.batch_alter_table("change") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch.add_column(sa.Column("programs", sa.Text(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE change_seq AS bigint")
        op.execute("UPDATE change SET seq = id")
        op.execute("SELECT setval('change_seq', (SELECT coalesce(max(id), 0) + 1 FROM change), false)")
        op.execute(PG_FACETS)
        op.execute(
            "UPDATE change c SET entity_type = left(coalesce(c.after, c.before)::jsonb ->> 'entity_type', 20), "
            "programs = CASE WHEN jsonb_typeof(coalesce(c.after, c.before)::jsonb -> 'programs') = 'array' "
            "AND jsonb_array_length(coalesce(c.after, c.before)::jsonb -> 'programs') > 0 THEN '|' || "
            "(SELECT string_agg(v, '|') FROM jsonb_array_elements_text(coalesce(c.after, c.before)::jsonb -> "
            "'programs') v) || '|' END"
        )
        op.execute("CREATE TRIGGER change_facets BEFORE INSERT ON change FOR EACH ROW EXECUTE FUNCTION change_facets()")
        op.execute(PG_SEQ)
        op.execute(
            "CREATE CONSTRAINT TRIGGER change_commit_seq AFTER INSERT ON change "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION change_commit_seq()"
        )
    else:
        op.execute("UPDATE change SET seq = id, " + SQLITE_FACETS.format(row=""))
        op.execute(
            "CREATE TRIGGER change_derived AFTER INSERT ON change BEGIN UPDATE change SET seq = NEW.id, "
            + SQLITE_FACETS.format(row="NEW.")
            + " WHERE id = NEW.id; END"
        )
    op.create_index("ix_change_seq", "change", ["seq"], unique=True)
    op.create_index("ix_change_created", "change", ["created_at"], unique=False)
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "web_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("web_audit")
    op.drop_table("api_token")
    op.drop_index("ix_change_created", table_name="change")
    op.drop_index("ix_change_seq", table_name="change")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS change_commit_seq ON change")
        op.execute("DROP TRIGGER IF EXISTS change_facets ON change")
        op.execute("DROP FUNCTION IF EXISTS change_commit_seq()")
        op.execute("DROP FUNCTION IF EXISTS change_facets()")
        op.execute("DROP SEQUENCE IF EXISTS change_seq")
    else:
        op.execute("DROP TRIGGER IF EXISTS change_derived")
    with op.batch_alter_table("change") as batch:
        batch.drop_column("programs")
        batch.drop_column("entity_type")
        batch.drop_column("seq")
