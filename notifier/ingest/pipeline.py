"""One poll of one source, through every stage in order: fetch -> parse -> guard -> diff -> store.

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
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from notifier.adapter import Adapter, ParseError
from notifier.config import SourceConfig
from notifier.ingest.archive import Archive
from notifier.ingest.diff import Scan, scan
from notifier.ingest.discovery import DiscoveryFailed
from notifier.ingest.fetch import Fetched, FetchError, fetch_part
from notifier.ingest.guard import Refused, check_encoding, check_files, check_records
from notifier.ingest.landing import discover_source
from notifier.ingest.publication import read_publication
from notifier.ingest.registry import get_adapter
from notifier.ingest.upgrade import refresh_stored_records
from notifier.records import InvalidRecord
from notifier.redact import scrub
from notifier.settings import Settings
from notifier.store.models import Snapshot
from notifier.store.repo import ChangeRow, Conflict, Router, commit_accepted, commit_outcome, ensure_state, prior_state
from notifier.timeutil import utcnow

log = logging.getLogger("notifier.ingest.pipeline")

# Called inside the transaction that records a quarantined or failed poll (ops alerts go to the outbox there).
OpsHook = Callable[[Session, Snapshot, SourceConfig], None]


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
    changes: list[ChangeRow] = field(default_factory=list)

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


@dataclass
class Context:
    """What a poll needs from the outside world, built once per process."""

    settings: Settings
    engine: Engine
    sources: dict[str, SourceConfig]
    session: requests.Session = field(default_factory=requests.Session)
    router: Router | None = None
    ops_hook: OpsHook | None = None

    @property
    def archive(self) -> Archive:
        return Archive(self.settings.data_dir / "archive")

    @property
    def tmp_dir(self) -> Path:
        return self.settings.data_dir / "tmp"

    def fetch(
        self, part: str, url: str, *, etag: str | None, last_modified: str | None, max_bytes: int | None = None
    ) -> Fetched:
        """One download within the configured bounds (files and the pages that lead to them alike)."""
        return fetch_part(
            part,
            url,
            tmp_dir=self.tmp_dir,
            etag=etag,
            last_modified=last_modified,
            user_agent=self.settings.user_agent,
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            deadline_seconds=self.settings.fetch_deadline,
            max_bytes=max_bytes or self.settings.max_download_bytes,
            session=self.session,
        )


def _combined_sha(fetched: dict[str, Fetched]) -> str:
    digest = hashlib.sha256()
    for part in sorted(fetched):
        digest.update(f"{part}:{fetched[part].sha256}\n".encode())
    return digest.hexdigest()


def poll(
    ctx: Context, source_id: str, urls: dict[str, str] | None = None, start_page: str | None = None
) -> PollResult:
    """Poll a source once; `urls` replaces configured part URLs (replays, --url); `start_page` starts a
    discovering source's discovery from another page (--url of such a source)."""
    cfg = ctx.sources[source_id]
    adapter_cls = get_adapter(cfg.adapter)
    started = time.monotonic()
    state = ensure_state(ctx.engine, source_id)
    validators: dict[str, dict[str, Any]] = json.loads(state.validators or "{}")
    if urls and "main" in urls:
        # A replayed file stands alone: the configured extra parts belong to another publication.
        part_urls = dict(urls)
    else:
        part_urls = {**cfg.fetch_urls(), **(urls or {})}  # ${VAR} and {date} filled in
    fetched: dict[str, Fetched] = {}
    temp_files: list[Path] = []
    archiving: list[Future[Path]] = []
    now = utcnow()
    discovered: str | None = None

    def outcome(status: str, reason: str | None, **kw: Any) -> PollResult:
        for pending in archiving:
            pending.result()  # a quarantined snapshot is reviewed from its archived copy
        snap = Snapshot(
            source=source_id,
            fetched_at=now,
            status=status,
            reason=scrub(reason) if reason else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            discovered_url=discovered,
            **kw,
        )
        hook = (
            (lambda s, sn: ctx.ops_hook(s, sn, cfg)) if ctx.ops_hook and status in ("quarantined", "failed") else None
        )
        commit_outcome(
            ctx.engine,
            source=source_id,
            snapshot=snap,
            validators=_validators(fetched, validators) if status == "unchanged" else None,
            extra=hook,
        )
        level = logging.INFO if status == "unchanged" else logging.WARNING
        log.log(level, "poll %s", status, extra={"source": source_id, "snapshot": snap.id, "reason": snap.reason})
        return PollResult(source_id, status, snapshot_id=snap.id, reason=snap.reason, record_count=snap.record_count)

    try:
        if cfg.discover and not (urls and "main" in urls):
            try:
                found, _published = discover_source(ctx, cfg, start_page or part_urls["main"], cfg.title or source_id)
            except DiscoveryFailed as exc:
                rule = {"page": scrub(exc.page), "rule": exc.rule, "why": exc.why}
                return outcome("failed", str(exc), notes=json.dumps({"discovery_failed": rule}))
            except FetchError as exc:
                return outcome("failed", f"discovery: {exc}")
            discovered = scrub(found.url)
            part_urls["main"] = found.url
        for part, url in part_urls.items():
            if part not in adapter_cls.parts:
                return outcome(
                    "failed", f"part {part!r} is not one of {adapter_cls.__name__}'s parts {adapter_cls.parts}"
                )
            known = validators.get(part, {})
            # Validators are only worth sending when the copy they stand for is in this machine's archive.
            usable = known.get("url") == _url_id(url) and ctx.archive.has(known.get("sha256") or "")
            try:
                got = ctx.fetch(
                    part,
                    url,
                    etag=known.get("etag") if usable else None,
                    last_modified=known.get("last_modified") if usable else None,
                )
            except FetchError as exc:
                return outcome("failed", str(exc))
            if got.not_modified:
                sha = known.get("sha256")
                if not sha or not ctx.archive.has(sha):
                    return outcome("failed", f"{part}: server answered 304 to a request without validators")
                got.sha256 = sha
            else:
                temp_files.append(got.path)
            fetched[part] = got

        if all(f.sha256 == validators.get(p, {}).get("sha256") for p, f in fetched.items()) and state.revision:
            why = "304 Not Modified" if all(f.not_modified for f in fetched.values()) else "same sha256"
            # an upgraded parser re-reads the stored snapshot now, not only when the publisher next changes it
            refresh_stored_records(ctx.engine, ctx.archive, ctx.tmp_dir, source_id, adapter_cls, cfg.options)
            return outcome("unchanged", why)

        for got in fetched.values():
            if got.path is None:  # a part that answered 304 is taken from the stored copy, never as empty
                got.path = ctx.archive.restore(got.sha256, ctx.tmp_dir)
                got.size = got.path.stat().st_size
                temp_files.append(got.path)
        parts_info = {}
        for part, got in fetched.items():
            archiving.append(ctx.archive.put_later(got.path, got.sha256))  # compressed while the parse runs
            archived = ctx.archive.path_for(got.sha256)
            parts_info[part] = {"sha256": got.sha256, "size": got.size, "archive": str(archived), "url": scrub(got.url)}
        paths = {p: f.path for p, f in fetched.items()}
        published = read_publication(adapter_cls, cfg.options, paths, part_urls.get("main"))
        snap_fields = dict(
            sha256=_combined_sha(fetched),
            parts=json.dumps(parts_info),
            published_on=published.date,
            publication_id=published.id,
        )

        refresh_stored_records(ctx.engine, ctx.archive, ctx.tmp_dir, source_id, adapter_cls, cfg.options)
        prior, raw_digests = prior_state(ctx.engine, source_id, raw_digests=adapter_cls.builds_on_demand)
        prior_count = len(prior)
        try:
            check_files(adapter_cls, paths)
            result = _parse_and_scan(adapter_cls, cfg, paths, prior, ctx.tmp_dir, raw_digests)
        except Refused as exc:
            return outcome("quarantined", str(exc), **snap_fields)
        if adapter_cls.windowed:
            result.removed = []  # items that scrolled out of a feed are not withdrawn
        partial = adapter_cls.windowed or (bool(state.revision) and result.delta)
        try:
            check_records(
                result.count,
                result.duplicates,
                prior_count if state.revision and not partial else None,
                cfg.guard,
                partial=partial,
            )
            check_encoding(result.spill)
        except Refused as exc:
            result.spill.discard()
            return outcome("quarantined", str(exc), record_count=result.count, **snap_fields)

        baseline = not state.revision
        # A delta lists only changes: the snapshot stands for the state it leaves behind.
        total = prior_count + len(result.added) - len(result.removed) if result.delta else result.count
        snapshot = Snapshot(
            source=source_id,
            fetched_at=now,
            status="accepted",
            record_count=total,
            baseline=baseline,
            added=0 if baseline else len(result.added),
            removed=len(result.removed),
            amended=len(result.amended),
            moved=len(result.moved),
            notes=json.dumps({"moved": result.moved[:200]}) if result.moved else None,
            discovered_url=discovered,
            **snap_fields,
        )
        for pending in archiving:
            pending.result()  # the snapshot names its archived copy: it must exist before the commit
        try:
            snapshot.duration_ms = int((time.monotonic() - started) * 1000)
            snapshot, changes = commit_accepted(
                ctx.engine,
                source=source_id,
                expected_revision=state.revision,
                scan=result,
                snapshot=snapshot,
                validators=_validators(fetched, validators),
                baseline=baseline,
                router=ctx.router,
            )
        except Conflict as exc:
            return PollResult(source_id, "skipped", reason=str(exc))
        finally:
            result.spill.discard()
        log.info(
            "poll accepted",
            extra={
                "source": source_id,
                "snapshot": snapshot.id,
                "added": snapshot.added,
                "removed": snapshot.removed,
                "amended": snapshot.amended,
                "records": result.count,
                "duration_ms": snapshot.duration_ms,
            },
        )
        return PollResult(
            source_id,
            "accepted",
            snapshot_id=snapshot.id,
            added=snapshot.added,
            removed=snapshot.removed,
            amended=snapshot.amended,
            moved=snapshot.moved,
            record_count=total,
            baseline=baseline,
            changes=changes,
        )
    finally:
        wait(archiving)  # the archive reads the temp files
        for path in temp_files:
            if path is not None:
                path.unlink(missing_ok=True)


def _parse_and_scan(
    adapter_cls: type[Adapter],
    cfg: SourceConfig,
    paths: dict[str, Path],
    prior: dict[str, str],
    tmp_dir: Path,
    raw_digests: dict[str, int],
) -> Scan:
    """Parsing and scanning interleave (records stream); any failure of either quarantines the snapshot."""
    adapter = adapter_cls(cfg.options)
    try:
        return scan(
            adapter.parse_unbuilt(paths) if adapter_cls.builds_on_demand else adapter.parse(paths),
            prior,
            tmp_dir,
            match_moved=adapter_cls.match_moved_by_content,
            delta=lambda: adapter.is_delta,
            raw_digests=raw_digests,
            build=adapter.build,
        )
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
