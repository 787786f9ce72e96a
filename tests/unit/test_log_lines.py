"""Library tracebacks during an outage become one redacted line; our own tracebacks stay."""

from __future__ import annotations

import io
import logging

from pydantic import SecretStr

from bot.redaction import OneLineFilter, RedactingFilter, secret_values
from core.config import Settings

TOKEN = "123456:ONE-line-token-abcdefghijklmnopqrstuvwxyz"


def emit(logger_name: str, error: Exception) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(OneLineFilter())
    handler.addFilter(RedactingFilter(secret_values(Settings(telegram_bot_token=SecretStr(TOKEN)))))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise error
        except Exception:
            logger.exception("Attempting a reconnect in %.2fs", 1.5)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_library_traceback_becomes_one_redacted_line() -> None:
    text = emit("discord.client", ConnectionError(f"cannot connect to https://x/bot{TOKEN}/getMe\nmore"))
    assert text.count("\n") == 1 and "Traceback" not in text
    assert "Attempting a reconnect in 1.50s (ConnectionError: cannot connect to" in text
    assert TOKEN not in text and "[REDACTED]" in text


def test_our_own_tracebacks_are_kept_but_redacted() -> None:
    text = emit("scheduler.runs", RuntimeError(f"boom {TOKEN}"))
    assert "Traceback" in text and "RuntimeError" in text
    assert TOKEN not in text
