"""change_index on PostgreSQL: a snapshot's rows indexed at commit in one statement, not one trigger body per row

The deferred trigger of 0009/0012 ran its whole body for every change row at COMMIT: a JSON parse, an advisory
lock, an INSERT, and an EXCEPTION block (a subtransaction) each. For the 561 changes of an OFAC sdn.csv
publication that was about 100 ms of a 0.25 s poll, all of it spent inside COMMIT.

Now the first row of a snapshot to reach COMMIT indexes every row of that snapshot not indexed yet, in id order,
with one INSERT ... SELECT under the same advisory lock and the same sequence (seq order is still commit order),
and notes in a transaction-local setting which snapshot it did up to which change id; the snapshot's other rows
find that note and return at once. A payload that is not JSON still only loses its filter columns: the set
insert fails as a whole, and that snapshot's rows are then indexed one by one as before. SQLite is unchanged (its
trigger is plain SQL, per row, and cheap).

Revision ID: 0015
Revises: 0014
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SEQ_LOCK = 7405542  # as in 0009

PG_ADD = """
CREATE OR REPLACE FUNCTION change_index_add(sid integer, lo integer, hi integer, facets boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_index (seq, change_id, source, kind, change, entity_type, programs, name, key, created_at, folded)
  SELECT nextval('change_seq'), c.id, c.source, c.kind, c.change,
         left(c.doc ->> 'entity_type', 20),
         CASE WHEN jsonb_typeof(c.doc -> 'programs') = 'array' THEN
           CASE WHEN jsonb_array_length(c.doc -> 'programs') > 0 THEN
             '|' || (SELECT string_agg(v, '|') FROM jsonb_array_elements_text(c.doc -> 'programs') v) || '|'
           END
         END,
         c.name, c.key, c.created_at, lower(c.name || ' ' || c.key)
  FROM (
    SELECT ch.id, ch.source, ch.kind, ch.change, ch.name, ch.key, ch.created_at,
           CASE WHEN facets THEN coalesce(ch.after, ch.before)::jsonb END AS doc
    FROM change ch
    WHERE ch.snapshot_id = sid AND ch.id BETWEEN lo AND hi
      AND NOT EXISTS (SELECT 1 FROM change_index i WHERE i.change_id = ch.id)
    ORDER BY ch.id
    OFFSET 0
  ) c;
END $$;
"""

PG_INDEX = f"""
CREATE OR REPLACE FUNCTION change_index_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  done text := coalesce(current_setting('notifier.change_index_done', true), '');
  r record;
BEGIN
  IF split_part(done, ':', 1) = NEW.snapshot_id::text THEN
    IF NEW.id <= split_part(done, ':', 2)::bigint THEN
      RETURN NULL;  -- indexed with its snapshot's first row
    END IF;
  END IF;
  PERFORM pg_advisory_xact_lock({SEQ_LOCK});
  BEGIN
    PERFORM change_index_add(NEW.snapshot_id, 0, 2147483647, true);
  EXCEPTION WHEN others THEN  -- a payload that is not JSON: row by row, and only that row loses its filter columns
    FOR r IN
      SELECT ch.id FROM change ch
      WHERE ch.snapshot_id = NEW.snapshot_id AND NOT EXISTS (SELECT 1 FROM change_index i WHERE i.change_id = ch.id)
      ORDER BY ch.id
    LOOP
      BEGIN
        PERFORM change_index_add(NEW.snapshot_id, r.id, r.id, true);
      EXCEPTION WHEN others THEN
        PERFORM change_index_add(NEW.snapshot_id, r.id, r.id, false);
      END;
    END LOOP;
  END;
  PERFORM set_config(
    'notifier.change_index_done',
    NEW.snapshot_id || ':' || (SELECT max(ch.id) FROM change ch WHERE ch.snapshot_id = NEW.snapshot_id),
    true
  );
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ADD)
        op.execute(PG_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        path = Path(__file__).with_name("0012_change_index_folded.py")
        spec = importlib.util.spec_from_file_location("change_index_0012", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        op.execute(module.PG_INDEX)
        op.execute("DROP FUNCTION IF EXISTS change_index_add(integer, integer, integer, boolean)")
