"""Errors that carry a message meant for the person running the service (printed without a traceback)."""


class NotifierError(Exception):
    """Base for errors the CLI prints as one line."""


class ConfigError(NotifierError):
    """A setting or config file is wrong; the message names the file, the key and the fix."""
