"""Screening: names, matching, watchlists, news rules and the party index."""
