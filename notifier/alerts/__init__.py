"""Alerts: route changes to subscribers, own the outbox, render and deliver messages."""
