"""The web pages, Atom feeds and JSON API (`notifier web`)."""
