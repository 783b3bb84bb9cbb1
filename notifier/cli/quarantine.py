"""`notifier quarantine list | show ID | accept ID | reject ID`: review what the guard kept from subscribers."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from notifier.cli.common import app, context, fail, out, print_json_lines, print_table, when

quarantine_app = typer.Typer(
    help="Review quarantined snapshots: see what one would change, release it or keep it out.", no_args_is_help=True
)
app.add_typer(quarantine_app, name="quarantine")

Actor = Annotated[str, typer.Option("--actor", help="Who decides (recorded); default: your login name.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded for audit).")]


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


@quarantine_app.command("list")
def list_cmd(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Quarantined snapshots awaiting a decision, newest first."""
    from notifier.ingest.quarantine import list_quarantined

    ctx = context(with_routing=False)
    rows = list_quarantined(ctx.engine, source)
    if as_json:
        print_json_lines(
            {"id": q.id, "source": q.source, "fetched_at": q.fetched_at.isoformat(), "reason": q.reason,
             "records": q.record_count} for q in rows
        )  # fmt: skip
        return
    if not rows:
        out.print("no quarantined snapshot awaits a decision")
        return
    print_table(
        ("id", "source", "fetched", "records", "reason"),
        ((q.id, q.source, when(q.fetched_at), q.record_count or "-", q.reason) for q in rows),
        title="Quarantined snapshots (notifier quarantine show ID)",
    )


@quarantine_app.command("show")
def show(
    snapshot_id: Annotated[int, typer.Argument(help="Snapshot id (from `notifier quarantine list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="As one JSON object.")] = False,
) -> None:
    """Why the snapshot was quarantined and what accepting it would change now (counts and a sample)."""
    from notifier.alerts.router import review_commands
    from notifier.ingest.quarantine import ReviewError, describe

    ctx = context(with_routing=False)
    try:
        desc = describe(ctx.engine, snapshot_id, ctx.sources)
    except ReviewError as exc:
        fail(str(exc))
    if as_json:
        out.print(json.dumps(desc.as_dict(), ensure_ascii=False, default=str), markup=False)
        return
    lines = [
        f"snapshot {desc.id} of {desc.source}, fetched {when(desc.fetched_at)}: {desc.status}",
        f"why: {desc.reason}",
    ]
    for d in desc.decisions:
        lines.append(f"{d['decision']} by {d['actor']} at {d['decided_at']}: {d['reason']}")
    if desc.error:
        lines.append(f"it cannot be parsed: {desc.error}")
    elif desc.status == "quarantined":
        lines.append(
            f"accepting it now would make: {desc.added} added, {desc.removed} removed, {desc.amended} amended, "
            f"{desc.moved} renumbered (not alerted) ({desc.record_count} records)"
        )
        for item in desc.sample:
            line = f"  {item['change']:8} {item['key']}: {item['name']}"
            for f in item.get("fields") or []:
                if "before" in f:
                    line += f"\n             {f['field']}: {f['before']!r} -> {f['after']!r}"
                else:
                    line += f"\n             {f['field']}: +{f['added']!r} -{f['removed']!r}"
            lines.append(line)
        lines.append(review_commands(desc.id))
    out.print("\n".join(lines), markup=False)


@quarantine_app.command("accept")
def accept_cmd(
    snapshot_id: Annotated[int, typer.Argument(help="Snapshot id.")],
    reason: Reason,
    actor: Actor = "",
) -> None:
    """Release the snapshot: diff it against the last accepted one and alert as a normal poll would."""
    from notifier.ingest.quarantine import ReviewError, accept

    ctx = context()
    try:
        result = accept(ctx, snapshot_id, actor or _login(), reason)
    except ReviewError as exc:
        fail(str(exc))
    out.print(f"snapshot {snapshot_id} released as snapshot {result.snapshot_id}: {result.summary()}", markup=False)


@quarantine_app.command("reject")
def reject_cmd(
    snapshot_id: Annotated[int, typer.Argument(help="Snapshot id.")],
    reason: Reason,
    actor: Actor = "",
) -> None:
    """Keep the snapshot out for good; the same bytes polled again are ignored without alerting again."""
    from notifier.ingest.quarantine import ReviewError, reject

    ctx = context(with_routing=False)
    try:
        reject(ctx.engine, snapshot_id, actor or _login(), reason)
    except ReviewError as exc:
        fail(str(exc))
    out.print(f"snapshot {snapshot_id} rejected: it stays out", markup=False)
