"""Every value of every table as one text, to search for what must never be stored (secrets, XXE content)."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData


def database_text(engine: Engine) -> str:
    meta = MetaData()
    meta.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(table.select()):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)
