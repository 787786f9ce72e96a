"""Keep secrets out of logs and chat.

:func:`redact` masks bot tokens (Telegram ``123456:ABC...``, Discord ``xxx.yyy.zzz``), bearer/API
keys and every secret value configured in :class:`core.config.Settings`. :class:`RedactingFilter`
applies it to every log record (message, arguments and formatted exception text) passing through
the handlers it is installed on; :func:`install` puts it on the root logger's handlers.

:class:`OneLineFilter` turns the tracebacks the chat libraries log while their platform is
unreachable (discord.py logs one per reconnect attempt) into one line naming the error;
:func:`quiet_platform_logs` installs it and silences httpx's per-request INFO lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from pydantic import SecretStr

from core.config import Settings

MASK = "[REDACTED]"
_PATTERNS = (
    re.compile(r"\b\d{5,12}:[A-Za-z0-9_-]{30,}\b"),  # Telegram bot token
    re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}\b"),  # Discord token
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}\b"),  # OpenAI-style keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{16,}"),
)


def secret_values(settings: Settings) -> list[str]:
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            values.append(value.get_secret_value())
    return values


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record so that no secret survives formatting."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


def install(settings: Settings, logger: logging.Logger | None = None) -> RedactingFilter:
    """Put a :class:`RedactingFilter` on every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    flt = RedactingFilter(secret_values(settings))
    if not target.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in target.handlers:
        handler.addFilter(flt)
    return flt


#: Loggers whose tracebacks are network noise: the runner and the libraries retry by themselves.
NOISY_LOGGERS = ("discord", "telegram", "httpx", "httpcore", "aiohttp")


class OneLineFilter(logging.Filter):
    """Replaces a noisy library record's traceback with ``(ErrorType: first line)``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith(NOISY_LOGGERS):
            error = record.exc_info[1]
            if error is not None:
                first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
                summary = f"{type(error).__name__}: {first}" if first else type(error).__name__
                record.msg = f"{record.getMessage()} ({summary})"
                record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_platform_logs(logger: logging.Logger | None = None) -> None:
    """One line per library retry, and no per-request lines (they carry the bot token's URL)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, OneLineFilter) for f in handler.filters):
            # before the redacting filter, so the one line is redacted too
            handler.filters.insert(0, OneLineFilter())
