"""Telegram's one rate-limiting layer, shared by replies and pushed messages.

python-telegram-bot's :class:`~telegram.ext.AIORateLimiter` throttles every Bot API call of the
process (about 30 messages/s overall, 20/min per group) and, for an interactive reply, retries
flood control (``RetryAfter``) itself. For a message the outbox is delivering
(:data:`bot.outbound.DELIVERING`), a flood-control answer is handed straight back to the outbox as
:class:`bot.outbound.RetryAfter` instead: the outbox defers that chat durably and resumes from the
unsent part, so a pushed message never has two retry layers (and a retry never re-sends a part).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter as TelegramRetryAfter
from telegram.ext import AIORateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.outbound import DELIVERING, RetryAfter

INTERACTIVE_FLOOD_RETRIES = 3


def retry_after_seconds(exc: TelegramRetryAfter) -> float:
    """Seconds Telegram asked for (PTB 22 gives an int, or a timedelta with PTB_TIMEDELTA=1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PushAwareRateLimiter(AIORateLimiter):
    """AIORateLimiter whose flood retries apply to interactive calls only."""

    def __init__(self) -> None:
        super().__init__(max_retries=INTERACTIVE_FLOOD_RETRIES)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not DELIVERING.get():
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

        async def once(*a: Any, **kw: Any) -> bool | dict[str, Any] | list[dict[str, Any]]:
            try:
                return await callback(*a, **kw)
            except TelegramRetryAfter as exc:  # not the library's RetryAfter: it will not retry it
                raise RetryAfter(retry_after_seconds(exc)) from exc

        return await super().process_request(once, args, kwargs, endpoint, data, rate_limit_args)
