"""Hooks that connect the pipeline to routing and ops alerts (filled in once subscriptions exist)."""

from __future__ import annotations

from notifier.pipeline import Context


def attach_routing(ctx: Context) -> None:
    """Without subscriptions nothing is routed; the pipeline still records every change."""
    return None
