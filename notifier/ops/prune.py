"""Retention: raw snapshot archives and sent delivery rows past their time are deleted; change events never are.

An archive is kept while anything may still need it: the last accepted snapshot of each source (the state
the next diff starts from), the validators (a 304 is answered from the stored copy), and every snapshot
fetched within the retention window (audit, replay). Files younger than the window are never touched, so a
poll writing a new archive at the same moment loses nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from notifier.context import Context
from notifier.store.models import Delivery, Snapshot, SourceState
from notifier.timeutil import utcnow

TMP_MAX_AGE = 86400.0  # a half-written archive (.tmp), download (.part) or spill file left by a crash


@dataclass
class Pruned:
    archives: int = 0
    archive_bytes: int = 0
    archives_kept: int = 0
    deliveries: int = 0
    temp_files: int = 0

    def summary(self, dry_run: bool) -> str:
        verb = "would delete" if dry_run else "deleted"
        return (
            f"{verb} {self.archives} archived snapshots ({self.archive_bytes / 1e6:.1f} MB), kept "
            f"{self.archives_kept}; {verb} {self.deliveries} sent deliveries and {self.temp_files} temp files"
        )


def archives_in_use(session: Session, since: datetime) -> set[str]:
    """sha256 of every archive a source still depends on or that was fetched within the window."""
    keep: set[str] = set()
    states = list(session.execute(select(SourceState)).scalars())
    for st in states:
        keep |= {v.get("sha256") for v in json.loads(st.validators or "{}").values() if isinstance(v, dict)}
    last_accepted = [st.revision for st in states if st.revision]
    recent = select(Snapshot.parts).where((Snapshot.fetched_at >= since) | Snapshot.id.in_(last_accepted))
    for parts in session.execute(recent).scalars():
        keep |= {p.get("sha256") for p in json.loads(parts or "{}").values() if isinstance(p, dict)}
    keep.discard(None)
    return keep


def prune_archives(root: Path, keep: set[str], older_than: float, dry_run: bool, result: Pruned) -> None:
    now = time.time()
    for path in root.glob("*/*"):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        age = now - st.st_mtime
        if path.suffix == ".tmp":
            expired = age > TMP_MAX_AGE
        elif path.suffix == ".gz":
            expired = age > older_than and path.name.removesuffix(".gz") not in keep
            result.archives_kept += not expired
        else:
            continue
        if expired:
            result.archives += 1
            result.archive_bytes += st.st_size
            if not dry_run:
                path.unlink(missing_ok=True)


def prune_temp(tmp_dir: Path, dry_run: bool, result: Pruned) -> None:
    """Downloads and spill files of polls that were killed (a running poll never lasts a day)."""
    now = time.time()
    for path in tmp_dir.glob("*"):
        try:
            expired = path.is_file() and now - path.stat().st_mtime > TMP_MAX_AGE
        except FileNotFoundError:
            continue
        if expired:
            result.temp_files += 1
            if not dry_run:
                path.unlink(missing_ok=True)


def prune(ctx: Context, dry_run: bool = False, now: datetime | None = None) -> Pruned:
    """Apply NOTIFIER_RETENTION_ARCHIVE_DAYS and NOTIFIER_RETENTION_DELIVERY_DAYS (0 keeps forever)."""
    settings = ctx.settings
    now = now or utcnow()
    result = Pruned()
    prune_temp(ctx.tmp_dir, dry_run, result)
    if settings.retention_archive_days:
        window = timedelta(days=settings.retention_archive_days)
        with Session(ctx.engine) as session:
            keep = archives_in_use(session, now - window)
        prune_archives(ctx.archive.root, keep, window.total_seconds(), dry_run, result)
    if settings.retention_delivery_days:
        cutoff = now - timedelta(days=settings.retention_delivery_days)
        old_sent = (Delivery.status == "sent") & (Delivery.sent_at < cutoff)
        with Session(ctx.engine) as session, session.begin():
            if dry_run:
                result.deliveries = session.scalar(select(func.count()).select_from(Delivery).where(old_sent))
            else:
                result.deliveries = session.execute(delete(Delivery).where(old_sent)).rowcount
    return result
