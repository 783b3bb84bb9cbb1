"""Server-side SVG: a stacked bar per week of the change events detected, one colour per source."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
)


def weekly_bars(per_source: dict[str, dict[date, int]], weeks: list[date], width: int = 760, height: int = 220) -> str:
    """Bars for the given weeks (Mondays, oldest first); a legend names each source with its total."""
    sources = sorted(per_source, key=lambda s: -sum(per_source[s].values()))
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sources)}
    totals = [sum(per_source[s].get(w, 0) for s in sources) for w in weeks]
    peak = max(totals or [0]) or 1
    left, bottom, top = 48, 28, 10
    plot_h = height - bottom - top
    slot = (width - left - 10) / max(len(weeks), 1)
    bar_w = max(2.0, slot * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 22 * ((len(sources) + 3) // 4)}" '
        f'role="img" aria-label="Change events per week and source" class="chart">',
        f'<text x="4" y="{top + 8}" font-size="11">{peak}</text>',
        f'<text x="4" y="{height - bottom}" font-size="11">0</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#999"/>',
    ]
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - bar_w) / 2
        y = height - bottom
        for s in sources:
            n = per_source[s].get(week, 0)
            if not n:
                continue
            h = n / peak * plot_h
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" fill="{colours[s]}">'
                f"<title>{escape(s)}, week of {week.isoformat()}: {n}</title></rect>"
            )
        if i % max(1, len(weeks) // 6) == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="10">{week:%m-%d}</text>')
    for i, s in enumerate(sources):
        lx, ly = 10 + (i % 4) * 185, height + 14 + (i // 4) * 22
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colours[s]}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly}" font-size="11">{escape(s)} ({sum(per_source[s].values())})</text>')
    if not sources:
        parts.append(f'<text x="{left + 10}" y="{height / 2}" font-size="12">no change events in these weeks</text>')
    parts.append("</svg>")
    return "".join(parts)


def last_weeks(today: date, n: int) -> list[date]:
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=k) for k in range(n - 1, -1, -1)]
