"""The one logging setup, called by every entry point (``bot.cli.main``; ``arena serve`` keeps it).

Stdlib :mod:`logging` throughout (``logging.getLogger(__name__)`` in every module); this module only
configures the root logger: one handler on stderr writing **JSON lines** (python-json-logger) with
``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, any ``extra={...}`` fields a caller
passed (``job``, ``status``, ``failed_items`` ...) and ``exc_info`` for tracebacks — so an operator's
log tooling can filter by field. Human output of the CLI stays on stdout.

Secrets never leave: the formatted line as a whole (message, extra fields, traceback) is passed
through :func:`bot.redaction.redact` with every ``SecretStr`` value of the settings and the token
patterns, and :func:`bot.redaction.install` adds its record filter as well.

Environment: ``ARENA_LOG_LEVEL`` (default ``WARNING`` for one-shot commands; ``arena serve`` logs
``INFO``), ``ARENA_LOG_FORMAT=text`` for plain lines while developing.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from bot.redaction import install as install_redaction
from bot.redaction import redact, secret_values
from core.config import Settings

_MARK = "_arena_handler"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines whose whole text is redacted (extra fields and tracebacks included)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
        )
        self.secrets = secrets

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class RedactingTextFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__(TEXT_FORMAT)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def configure_logging(settings: Settings, *, level: str | int | None = None,
                      stream: IO[str] | None = None, json_lines: bool | None = None) -> logging.Handler:
    """Install (or replace) the project's root handler; idempotent. Returns the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    secrets = secret_values(settings)
    if json_lines is None:
        json_lines = os.environ.get("ARENA_LOG_FORMAT", "json").lower() != "text"
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingJsonFormatter(secrets) if json_lines else RedactingTextFormatter(secrets))
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    chosen = level if level is not None else os.environ.get("ARENA_LOG_LEVEL", "WARNING")
    root.setLevel(chosen.upper() if isinstance(chosen, str) else chosen)
    install_redaction(settings, root)
    return handler
