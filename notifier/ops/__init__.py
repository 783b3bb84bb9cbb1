"""Ops: status, metrics, health, heartbeats, queues, logs and retention."""
