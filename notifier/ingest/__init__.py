"""Ingest: fetch a source's parts, archive them, parse, guard and diff them into change sets."""
