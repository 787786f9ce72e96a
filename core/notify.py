"""How the core and the scheduler reach chats: the :class:`Notifier` interface.

Implemented in ``bot/`` (the rate-limited, durable outbound queue); the core only depends on this
protocol. ``notify`` must be cheap, non-blocking and thread-safe: it queues, it does not send.
"""

from __future__ import annotations

from typing import Protocol

from core.commands.types import OutboundMessage


class Notifier(Protocol):
    """Queue a message for delivery to one chat."""

    def notify(self, message: OutboundMessage) -> None: ...


class CollectingNotifier:
    """Keeps messages in a list: for tests, scripts and ``arena replay`` without chats."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    def notify(self, message: OutboundMessage) -> None:
        self.messages.append(message)
