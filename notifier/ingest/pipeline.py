"""One poll of one source, through every stage in order, as `poll` reads: fetch parts, archive, parse and guard,
diff, commit (write records, write changes, route, update state: one transaction).

A stage that ends the poll early raises `Stop`, and the outcome (unchanged, quarantined, failed) is recorded.
Plain functions with no Celery in sight: the CLI, the tasks and the tests all call `poll` directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from notifier.adapter import Adapter, ParseError
from notifier.config import SourceConfig
from notifier.context import Context
from notifier.ingest.diff import Scan, match_renumbered, scan
from notifier.ingest.discovery import DiscoveryFailed
from notifier.ingest.fetch import Fetched, FetchError
from notifier.ingest.guard import (
    Refused,
    check_encoding,
    check_files,
    check_parts,
    check_records,
    check_shape,
    check_stale,
    measure,
    part_facts,
)
from notifier.ingest.landing import discover_source
from notifier.ingest.publication import read_publication
from notifier.ingest.registry import get_adapter
from notifier.ingest.upgrade import refresh_stored_records
from notifier.records import InvalidRecord
from notifier.redact import scrub
from notifier.store.changes import Change
from notifier.store.history import History, accepted_parts, history, note_repeat, stored_payloads
from notifier.store.models import Snapshot, SourceState
from notifier.store.repo import (
    Accepted,
    Conflict,
    claim,
    ensure_state,
    prior_state,
    transaction,
    update_state,
    write_changes,
    write_records,
)
from notifier.store.repo import record_outcome as repo_record_outcome
from notifier.timeutil import utcnow

log = logging.getLogger("notifier.ingest.pipeline")


@dataclass
class PollResult:
    source: str
    status: str  # accepted | unchanged | quarantined | failed | skipped
    snapshot_id: int | None = None
    added: int = 0
    removed: int = 0
    amended: int = 0
    moved: int = 0
    record_count: int | None = None
    baseline: bool = False
    reason: str | None = None
    changes: list[Change] = field(default_factory=list)

    def summary(self) -> str:
        if self.status == "accepted" and self.baseline:
            return f"baseline: {self.record_count} records stored (the first snapshot makes no change events)"
        if self.status == "accepted":
            text = f"{self.added} added, {self.removed} removed, {self.amended} amended"
            if self.moved:
                text += f", {self.moved} renumbered (not alerted)"
            return text + f" ({self.record_count} records)"
        if self.status == "unchanged":
            return f"unchanged ({self.reason})"
        return f"{self.status}: {self.reason}"


class Stop(Exception):
    """A stage ended the poll early; the outcome (unchanged, quarantined, failed) is recorded as a snapshot."""

    def __init__(self, status: str, reason: str, **snapshot_fields: Any) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.snapshot_fields = snapshot_fields


class Repeat(Stop):
    """The bytes of a snapshot already quarantined (or rejected): noted on the source, not recorded or alerted
    again."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__(
            "quarantined", f"the same bytes as snapshot {snapshot.id} ({snapshot.status}): {snapshot.reason}"
        )
        self.snapshot_id = snapshot.id


@dataclass
class Run:
    """One poll in progress: what the stages read and leave for the next."""

    ctx: Context
    cfg: SourceConfig
    adapter_cls: type[Adapter]
    state: SourceState
    validators: dict[str, dict[str, Any]]  # per part, as stored after the last successful poll
    part_urls: dict[str, str]
    now: datetime = field(default_factory=utcnow)
    started: float = field(default_factory=time.monotonic)
    fetched: dict[str, Fetched] = field(default_factory=dict)
    temp_files: list[Path] = field(default_factory=list)
    archiving: list[Future[Path]] = field(default_factory=list)  # parts compressed into the archive meanwhile
    snapshot_fields: dict[str, Any] = field(default_factory=dict)  # combined sha256 and parts, once archived
    discovered: str | None = None  # the file's URL, as found on the source's pages (scrubbed)
    stored_parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # parts taken from the store, not fetched
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # per part: rows, end byte (guard.part_facts)
    history: History = field(default_factory=History)  # what past snapshots say about this one
    trusted: bool = False  # an operator released it (quarantine accept): the shape checks are not applied again
    on_commit: Callable[[Session, Snapshot], None] | None = None  # more to write in the commit's transaction

    @property
    def source(self) -> str:
        return self.cfg.id

    @property
    def duration_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    @property
    def paths(self) -> dict[str, Path]:
        return {p: f.path for p, f in self.fetched.items() if f.path is not None}

    def archived(self) -> None:
        """Wait for the archive: a snapshot names its archived copy, which must exist before it is recorded."""
        for pending in self.archiving:
            pending.result()

    def clean_up(self) -> None:
        wait(self.archiving)  # the archive reads the temp files
        for path in self.temp_files:
            if path is not None:
                path.unlink(missing_ok=True)


def poll(ctx: Context, source_id: str, urls: dict[str, str] | None = None, start_page: str | None = None) -> PollResult:
    """Poll a source once; `urls` replaces configured part URLs (replays, --url); `start_page` starts a
    discovering source's discovery from another page (--url of such a source)."""
    run = begin(ctx, source_id, urls)
    try:
        if run.cfg.discover and not (urls and "main" in urls):
            find_file(run, start_page)
        fetch_parts(run)
        stop_if_unchanged(run)
        archive(run)
        refuse_known(run)
        refresh_stored_records(ctx.engine, ctx.archive, ctx.tmp_dir, source_id, run.adapter_cls, run.cfg.options)
        prior, raw_digests = prior_state(ctx.engine, source_id, raw_digests=run.adapter_cls.builds_on_demand)
        prior_count = len(prior)  # the scan consumes `prior`
        result = parse_and_guard(run, prior, prior_count, raw_digests)
        return commit(run, diff(run, result, prior_count))
    except Stop as stop:
        return record_outcome(run, stop)
    finally:
        run.clean_up()


def begin(ctx: Context, source_id: str, urls: dict[str, str] | None) -> Run:
    cfg = ctx.sources[source_id]
    state = ensure_state(ctx.engine, source_id)
    stored: dict[str, dict[str, Any]] = {}
    if urls and "main" in urls:
        # A manual poll or replay names its own files: the configured URLs of the other parts belong to whatever
        # is published now. The parts the last accepted snapshot had and this poll does not name are taken from
        # the store, so the diff never compares a full record set with a partial one.
        part_urls = dict(urls)
        stored = {p: info for p, info in accepted_parts(ctx.engine, state.revision).items() if p not in part_urls}
    else:
        part_urls = {**cfg.fetch_urls(), **(urls or {})}  # ${VAR} and {date} filled in
    return Run(
        ctx=ctx,
        cfg=cfg,
        adapter_cls=get_adapter(cfg.adapter),
        state=state,
        validators=json.loads(state.validators or "{}"),
        part_urls=part_urls,
        stored_parts=stored,
    )


def find_file(run: Run, start_page: str | None) -> None:
    """A discovering source: follow its pages to the current file (announcing new documents on the way)."""
    try:
        found, _published = discover_source(
            run.ctx, run.cfg, start_page or run.part_urls["main"], run.cfg.title or run.source
        )
    except DiscoveryFailed as exc:
        rule = {"page": scrub(exc.page), "rule": exc.rule, "why": exc.why}
        raise Stop("failed", str(exc), notes=json.dumps({"discovery_failed": rule})) from None
    except FetchError as exc:
        raise Stop("failed", f"discovery: {exc}") from None
    run.discovered = scrub(found.url)
    run.part_urls["main"] = found.url


def fetch_parts(run: Run) -> None:
    """Download every part, conditionally: validators are sent only for a copy this machine has archived."""
    ctx, adapter_cls = run.ctx, run.adapter_cls
    for part, url in run.part_urls.items():
        if part not in adapter_cls.parts:
            raise Stop("failed", f"part {part!r} is not one of {adapter_cls.__name__}'s parts {adapter_cls.parts}")
        known = run.validators.get(part, {})
        usable = known.get("url") == _url_id(url) and ctx.archive.has(known.get("sha256") or "")
        try:
            got = ctx.fetch(
                part,
                url,
                etag=known.get("etag") if usable else None,
                last_modified=known.get("last_modified") if usable else None,
            )
        except FetchError as exc:
            raise Stop("failed", str(exc)) from None
        if got.not_modified:
            sha = known.get("sha256")
            if not sha or not ctx.archive.has(sha):
                raise Stop("failed", f"{part}: server answered 304 to a request without validators")
            got.sha256 = sha
        else:
            run.temp_files.append(got.path)
        run.fetched[part] = got
    take_stored(run)


def take_stored(run: Run) -> None:
    """The parts taken from the store (restored in `archive` like a part that answered 304); a copy gone from
    the archive fails the poll, naming what to give instead."""
    missing = [p for p, info in run.stored_parts.items() if not run.ctx.archive.has(info.get("sha256") or "")]
    if missing:
        given = ", ".join(f"{p}={scrub(u)}" for p, u in run.part_urls.items())
        raise Stop(
            "failed",
            f"manual poll ({given}) without the parts {', '.join(missing)}: the last accepted snapshot had them and "
            f"their stored copies are gone, so the diff would lose their data; give them too: notifier poll "
            f"{run.source} --url MAIN " + " ".join(f"--part {p}=URL" for p in missing),
        )
    for part, info in run.stored_parts.items():
        run.fetched[part] = Fetched(part, info.get("url") or f"stored:{part}", True, sha256=info["sha256"])


def stop_if_unchanged(run: Run) -> None:
    """Every part is the copy the stored state came from: nothing to parse."""
    if run.state.revision and all(f.sha256 == run.validators.get(p, {}).get("sha256") for p, f in run.fetched.items()):
        why = "304 Not Modified" if all(f.not_modified for f in run.fetched.values()) else "same sha256"
        # an upgraded parser re-reads the stored snapshot now, not only when the publisher next changes it
        ctx, cfg = run.ctx, run.cfg
        refresh_stored_records(ctx.engine, ctx.archive, ctx.tmp_dir, run.source, run.adapter_cls, cfg.options)
        raise Stop("unchanged", why)


def archive(run: Run) -> None:
    """Keep every part by its sha256 (a part that answered 304 is taken from the stored copy, never as empty), and
    note the publication's own date and id."""
    ctx = run.ctx
    for got in run.fetched.values():
        if got.path is None:
            got.path = ctx.archive.restore(got.sha256, ctx.tmp_dir)
            got.size = got.path.stat().st_size
            run.temp_files.append(got.path)
    parts_info = {}
    for part, got in run.fetched.items():
        run.archiving.append(ctx.archive.put_later(got.path, got.sha256))  # compressed while the parse runs
        archived = ctx.archive.path_for(got.sha256)
        parts_info[part] = {"sha256": got.sha256, "size": got.size, "archive": str(archived), "url": scrub(got.url)}
        run.facts[part] = part_facts(got.path)
        parts_info[part].update(run.facts[part])
    published = read_publication(run.adapter_cls, run.cfg.options, run.paths, run.part_urls.get("main"))
    run.snapshot_fields = dict(
        sha256=_combined_sha(run.fetched),
        parts=json.dumps(parts_info),
        published_on=published.date,
        publication_id=published.id,
    )


def refuse_known(run: Run) -> None:
    """Bytes already quarantined or rejected end the poll quietly (ops heard of them once)."""
    if run.trusted:
        return
    run.history = history(run.ctx.engine, run.source, run.state.revision, run.snapshot_fields.get("sha256"))
    if run.history.repeat is not None:
        raise Repeat(run.history.repeat)


def parse_and_guard(run: Run, prior: dict[str, str | bytes], prior_count: int, raw_digests: dict[str, int]) -> Scan:
    """Check the files, parse them into records compared with the stored hashes as they stream (the diff), then
    check the counts and the text; anything wrong quarantines the snapshot."""
    adapter_cls, state, guard, past = run.adapter_cls, run.state, run.cfg.guard, run.history
    try:
        check_files(adapter_cls, run.paths)
        if not run.trusted and not adapter_cls.windowed:  # a feed's window may show an earlier state again
            fields = run.snapshot_fields
            check_stale(fields["sha256"], past.superseded, fields.get("published_on"), past.published_on)
        result, declared = _parse_and_scan(adapter_cls, run.cfg, run.paths, prior, run.ctx.tmp_dir, raw_digests)
    except Refused as exc:
        raise Stop("quarantined", str(exc), **run.snapshot_fields) from None
    partial = adapter_cls.windowed or (bool(state.revision) and result.delta)
    stored = lambda keys: stored_payloads(run.ctx.engine, run.source, keys)  # noqa: E731
    try:
        if run.trusted:  # released by an operator: only what cannot be stored is refused; renumbered records move
            check_records(result.count, result.duplicates, None, guard, partial=True)
            match_renumbered(result, stored)
            return result
        check_records(
            result.count,
            result.duplicates,
            prior_count if state.revision and not partial else None,
            guard,
            partial=partial,
            declared=declared,
        )
        check_encoding(result.spill)  # before the shape: "UTF-8 read as cp1252" says more than "mass amendment"
        if state.revision and not partial:
            check_parts(run.facts, past.parts, guard)
            check_shape(measure(result, prior_count, stored), guard, adapter_cls.match_moved_by_content)
    except Refused as exc:
        result.spill.discard()
        raise Stop("quarantined", str(exc), record_count=result.count, **run.snapshot_fields) from None
    return result


def diff(run: Run, result: Scan, prior_count: int) -> Accepted:
    """What the snapshot changes, counted; the snapshot the store will write."""
    if run.adapter_cls.windowed:
        result.removed = []  # items that scrolled out of a feed are not withdrawn
    baseline = not run.state.revision
    # A delta lists only changes: the snapshot stands for the state it leaves behind.
    total = prior_count + len(result.added) - len(result.removed) if result.delta else result.count
    snapshot = Snapshot(
        source=run.source,
        fetched_at=run.now,
        status="accepted",
        record_count=total,
        baseline=baseline,
        added=0 if baseline else len(result.added),
        removed=len(result.removed),
        amended=len(result.amended),
        moved=len(result.moved),
        notes=json.dumps({"moved": result.moved[:200]}) if result.moved else None,
        discovered_url=run.discovered,
        **run.snapshot_fields,
    )
    return Accepted(
        snapshot=snapshot,
        scan=result,
        expected_revision=run.state.revision,
        validators=_validators(run.fetched, run.validators),
        baseline=baseline,
    )


def commit(run: Run, accepted: Accepted) -> PollResult:
    """One transaction: write records, write changes, route them to the outbox, update the source's state."""
    run.archived()
    try:
        accepted.snapshot.duration_ms = run.duration_ms
        with transaction(run.ctx.engine) as session:
            snapshot = claim(session, accepted)
            changes = write_changes(session, write_records(session, accepted))
            if run.on_commit is not None:
                run.on_commit(session, snapshot)
            if run.ctx.router is not None:
                run.ctx.router.route(session, changes, snapshot)
            update_state(session, accepted, changed=bool(changes))
    except Conflict as exc:
        return PollResult(run.source, "skipped", reason=str(exc))
    finally:
        accepted.scan.spill.discard()
    log.info(
        "poll accepted",
        extra={
            "source": run.source,
            "snapshot": snapshot.id,
            "added": snapshot.added,
            "removed": snapshot.removed,
            "amended": snapshot.amended,
            "records": accepted.scan.count,
            "duration_ms": snapshot.duration_ms,
        },
    )
    return PollResult(
        run.source,
        "accepted",
        snapshot_id=snapshot.id,
        added=snapshot.added,
        removed=snapshot.removed,
        amended=snapshot.amended,
        moved=snapshot.moved,
        record_count=snapshot.record_count,
        baseline=accepted.baseline,
        changes=changes,
    )


def record_outcome(run: Run, stop: Stop) -> PollResult:
    """An unchanged, quarantined or failed poll, recorded (ops hear of quarantines and failure streaks)."""
    if isinstance(stop, Repeat):
        note_repeat(run.ctx.engine, run.source, run.now, scrub(stop.reason))
        log.info("poll quarantined again", extra={"source": run.source, "snapshot": stop.snapshot_id})
        return PollResult(run.source, stop.status, snapshot_id=stop.snapshot_id, reason=scrub(stop.reason))
    run.archived()  # a quarantined snapshot is reviewed from its archived copy
    snapshot = Snapshot(
        source=run.source,
        fetched_at=run.now,
        status=stop.status,
        reason=scrub(stop.reason) if stop.reason else None,
        duration_ms=run.duration_ms,
        discovered_url=run.discovered,
        **stop.snapshot_fields,
    )
    unchanged = stop.status == "unchanged"
    with transaction(run.ctx.engine) as session:
        repo_record_outcome(session, snapshot, _validators(run.fetched, run.validators) if unchanged else None)
        if run.ctx.router is not None:
            run.ctx.router.route_outcome(session, snapshot)
    level = logging.INFO if unchanged else logging.WARNING
    log.log(
        level, "poll %s", stop.status, extra={"source": run.source, "snapshot": snapshot.id, "reason": snapshot.reason}
    )
    return PollResult(
        run.source, stop.status, snapshot_id=snapshot.id, reason=snapshot.reason, record_count=snapshot.record_count
    )


def release(
    ctx: Context, snapshot: Snapshot, on_commit: Callable[[Session, Snapshot], None] | None = None
) -> PollResult:
    """Commit a quarantined snapshot an operator accepted: its archived parts, diffed against the last accepted
    state and alerted as a normal poll; records that only moved to new keys are renumbered, not alerted.
    `on_commit` writes in the same transaction (the decision). Nothing is recorded when it cannot be released."""
    run = begin(ctx, snapshot.source, None)
    run.trusted, run.on_commit = True, on_commit
    run.part_urls, run.stored_parts = {}, json.loads(snapshot.parts or "{}")
    try:
        take_stored(run)
        archive(run)
        prior, raw_digests = prior_state(ctx.engine, run.source, raw_digests=run.adapter_cls.builds_on_demand)
        prior_count = len(prior)
        result = parse_and_guard(run, prior, prior_count, raw_digests)
        return commit(run, diff(run, result, prior_count))
    except Stop as stop:
        return PollResult(run.source, stop.status, reason=stop.reason)
    finally:
        run.clean_up()


def _combined_sha(fetched: dict[str, Fetched]) -> str:
    digest = hashlib.sha256()
    for part in sorted(fetched):
        digest.update(f"{part}:{fetched[part].sha256}\n".encode())
    return digest.hexdigest()


def _parse_and_scan(
    adapter_cls: type[Adapter],
    cfg: SourceConfig,
    paths: dict[str, Path],
    prior: dict[str, str | bytes],
    tmp_dir: Path,
    raw_digests: dict[str, int],
) -> tuple[Scan, int | None]:
    """Parsing and scanning interleave (records stream); any failure of either quarantines the snapshot. Also the
    record count the publisher's header declares (read by the adapter as it parses)."""
    adapter = adapter_cls(cfg.options)
    try:
        result = scan(
            adapter.parse_unbuilt(paths) if adapter_cls.builds_on_demand else adapter.parse(paths),
            prior,
            tmp_dir,
            match_moved=adapter_cls.match_moved_by_content,
            delta=lambda: adapter.is_delta,
            raw_digests=raw_digests,
            build=adapter.build,
        )
        return result, adapter.declared_count
    except ParseError as exc:
        raise Refused(f"not parseable as {cfg.adapter}: {exc}") from None
    except InvalidRecord as exc:
        raise Refused(f"invalid record: {exc}") from None
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        log.exception("adapter failed", extra={"source": cfg.id})
        raise Refused(f"adapter {cfg.adapter} failed on this snapshot: {type(exc).__name__}: {exc}") from None


def _url_id(url: str) -> str:
    """Validators are kept per URL, by a hash (a URL may carry an API key)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _validators(fetched: dict[str, Fetched], old: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for part, got in fetched.items():
        prev = old.get(part, {})
        out[part] = {
            "url": _url_id(got.url),
            "sha256": got.sha256,
            "etag": got.etag if not got.not_modified else prev.get("etag"),
            "last_modified": got.last_modified if not got.not_modified else prev.get("last_modified"),
        }
    return out
