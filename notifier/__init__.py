"""sanctions-notifier: poll official sanctions lists, diff them record by record, alert subscribers."""

__version__ = "0.1.0"
