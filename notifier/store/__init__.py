"""Persistence: tables (models), engine and migrations (db), and the one-transaction writes (repo)."""
