"""Tables. Payloads are stored as canonical JSON text so SQLite and PostgreSQL hold identical bytes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class SourceState(SQLModel, table=True):
    __tablename__ = "source_state"
    source: str = Field(primary_key=True, max_length=100)
    validators: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    revision: int = 0  # last accepted snapshot id; a commit that does not see its own prior revision is refused
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_change_at: datetime | None = None
    last_status: str | None = Field(default=None, max_length=20)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_failures: int = 0
    record_count: int | None = None
    # Discovering sources: last URL found, links seen on the watched pages, the pages' validators (JSON).
    discovery: str | None = Field(default=None, sa_column=Column(Text))
    # Adapter.parser_version of the stored records (None: before versions were kept, i.e. "1").
    parser_version: str | None = Field(default=None, max_length=40)


class Snapshot(SQLModel, table=True):
    __tablename__ = "snapshot"
    __table_args__ = (Index("ix_snapshot_source_fetched", "source", "fetched_at"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    fetched_at: datetime
    sha256: str | None = Field(default=None, max_length=64)
    parts: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    status: str = Field(max_length=20)  # accepted | unchanged | quarantined | failed
    reason: str | None = Field(default=None, sa_column=Column(Text))
    record_count: int | None = None
    added: int = 0
    removed: int = 0
    amended: int = 0
    moved: int = 0
    baseline: bool = False
    duration_ms: int | None = None
    notes: str | None = Field(default=None, sa_column=Column(Text))
    # The publication's own date (ISO) and id, as the publisher states them (notifier.publication).
    published_on: str | None = Field(default=None, max_length=40)
    publication_id: str | None = Field(default=None, max_length=200)
    discovered_url: str | None = Field(default=None, sa_column=Column(Text))  # the file a landing page led to


class Record(SQLModel, table=True):
    __tablename__ = "record"
    # What a poll reads of every active record, and nothing else: the read never touches the payloads.
    __table_args__ = (
        Index(
            "ix_record_active_state",
            "source",
            "key",
            "hash",
            "raw_digest",
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )
    source: str = Field(primary_key=True, max_length=100)
    key: str = Field(primary_key=True, max_length=300)
    kind: str = Field(max_length=20)
    name: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    hash: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    first_seen: datetime
    updated_at: datetime
    removed_at: datetime | None = None
    # A digest of the record's published form (Adapter.parse_unbuilt), when the adapter gives one: an unchanged
    # digest spares building and hashing the record at the next poll.
    raw_digest: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class Change(SQLModel, table=True):
    __tablename__ = "change"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "key", name="uq_change_snapshot_key"),
        Index("ix_change_source_created", "source", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    key: str = Field(max_length=300)
    kind: str = Field(max_length=20)  # record kind: designation | export_control | news
    change: str = Field(max_length=10)  # added | removed | amended
    name: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    fields: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    published_on: str | None = Field(default=None, max_length=40)  # the snapshot's publication date
    publication_id: str | None = Field(default=None, max_length=200)
    # (0004 added seq, entity_type and programs columns here; since 0009 they are unused: see ChangeIndex)


class ChangeIndex(SQLModel, table=True):
    """One narrow row per change event, written by a database trigger at commit, never by the writer (0009).

    `seq` is handed out at commit in commit order (PostgreSQL: under one advisory lock; SQLite: the id), so a
    reader's delta cursor never skips a change whose transaction took its id first and committed last. The other
    columns are what the web filters on, so filtered pages and counts scan this table, not the payloads.
    """

    __tablename__ = "change_index"
    __table_args__ = (
        Index("ix_change_index_source_seq", "source", "seq"),
        Index("ix_change_index_created", "created_at"),
    )
    seq: int = Field(
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False)
    )
    change_id: int = Field(foreign_key="change.id", sa_column_kwargs={"unique": True})
    source: str = Field(max_length=100)
    kind: str = Field(max_length=20)
    change: str = Field(max_length=10)
    entity_type: str | None = Field(default=None, max_length=20)
    programs: str | None = Field(default=None, sa_column=Column(Text))  # "|PROG1|PROG2|"
    name: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    key: str = Field(max_length=300)
    created_at: datetime
    folded: str | None = Field(default=None, sa_column=Column(Text))  # lower(name + " " + key), for free text (0012)


class Delivery(SQLModel, table=True):
    """The outbox: one row per message to send, written in the snapshot's transaction."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_delivery_dedupe"),
        Index("ix_delivery_status_next", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=300)  # e.g. "changes:<snapshot>:<subscriber>:<channel>"
    purpose: str = Field(max_length=20)  # changes | watchlist | digest | ops | test
    subscriber: str = Field(max_length=200)
    channel: str = Field(max_length=64)  # channel id within the subscriber (hash of its URL template)
    channel_type: str = Field(default="", max_length=40)
    snapshot_id: int | None = Field(default=None, index=True)
    source: str | None = Field(default=None, max_length=100)
    change_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    title: str | None = Field(default=None, sa_column=Column(Text))  # ops/test messages carry their own text
    body: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default="pending", max_length=12)  # pending | sending | sent | dead | held
    due_at: datetime | None = None  # digests: not sent before this time
    folded_into: int | None = None  # a held row released into this digest delivery (status "folded")
    attempts: int = 0
    parts_sent: int = 0
    next_attempt_at: datetime
    claimed_at: datetime | None = None  # when a worker took it; a stale claim is released by the relay
    claimed_by: str | None = Field(default=None, max_length=300)  # notifier.ops.liveness.holder() of the sender
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    sent_at: datetime | None = None


class Watchlist(SQLModel, table=True):
    """A subscriber's imported list of counterparties: which file, which content, when."""

    __tablename__ = "watchlist"
    subscriber: str = Field(primary_key=True, max_length=200)
    source_file: str | None = Field(default=None, sa_column=Column(Text))
    sha256: str = Field(max_length=64)  # of the imported file's bytes: a changed file is imported again at start
    entries: int = 0
    imported_at: datetime


class WatchlistEntry(SQLModel, table=True):
    """One counterparty of a subscriber's watchlist, as imported (facts as written; screening normalizes)."""

    __tablename__ = "watchlist_entry"
    __table_args__ = (Index("ix_watchlist_entry_subscriber", "subscriber"),)
    id: int | None = Field(default=None, primary_key=True)
    subscriber: str = Field(max_length=200)
    line: int  # line of the CSV it came from
    reference: str | None = Field(default=None, max_length=300)  # the subscriber's own reference
    name: str = Field(sa_column=Column(Text, nullable=False))
    aliases: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    entity_type: str | None = Field(default=None, max_length=20)
    countries: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    dates: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    identifiers: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # [[type, number]]


class ApiToken(SQLModel, table=True):
    """A web/API access token; only its sha256 is stored, the token itself is shown once at creation."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    role: str = Field(max_length=20)  # viewer | reviewer | admin
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class WebAudit(SQLModel, table=True):
    """Every action taken through the web server or the API (who, what, on what, from where)."""

    __tablename__ = "web_audit"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=100)
    action: str = Field(max_length=40)
    target: str | None = Field(default=None, max_length=300)
    detail: str | None = Field(default=None, sa_column=Column(Text))
    client: str | None = Field(default=None, max_length=100)


class WatchlistHit(SQLModel, table=True):
    """A (counterparty, designated record) pair screening found for a subscriber; kept across re-imports (the
    counterparty is known by its reference, else its name) so a review of the pair outlives the file."""

    __tablename__ = "watchlist_hit"
    __table_args__ = (UniqueConstraint("subscriber", "entry_key", "source", "record_key", name="uq_watchlist_hit"),)
    id: int | None = Field(default=None, primary_key=True)
    subscriber: str = Field(max_length=200)
    entry_key: str = Field(max_length=300)  # the entry's reference, or "name:" + its name
    entry_name: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=100)
    record_key: str = Field(max_length=300)
    record_name: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=64)  # of the designation's names, dates and identifiers when last seen
    score: float = 0.0
    why: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    status: str = Field(default="open", max_length=20)  # open | confirmed | false_positive
    first_seen_at: datetime
    last_seen_at: datetime


class HitReview(SQLModel, table=True):
    """One decision on a hit, never changed or deleted: who, when, why, and what the designation said then."""

    __tablename__ = "hit_review"
    __table_args__ = (Index("ix_hit_review_hit", "hit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    hit_id: int
    decision: str = Field(max_length=20)  # confirmed | false_positive
    actor: str = Field(max_length=200)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    fingerprint: str = Field(max_length=64)
    decided_at: datetime


class QuarantineDecision(SQLModel, table=True):
    """An operator's decision on a quarantined snapshot: who, when, why, and the snapshot an accept made."""

    __tablename__ = "quarantine_decision"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    source: str = Field(max_length=100)
    decision: str = Field(max_length=10)  # accepted | rejected
    actor: str = Field(max_length=200)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    decided_at: datetime
    accepted_snapshot_id: int | None = None  # the accepted snapshot the release committed
