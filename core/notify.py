"""How the core and the scheduler reach chats: the :class:`Notifier` interface.

Implemented in ``bot/`` (the durable outbox); the core only depends on this protocol. ``notify``
must be cheap, non-blocking and thread-safe: it queues, it does not send.

A message that reports something done inside a database transaction (a proposal created, a token
retired) must leave only if that transaction commits. :func:`notify_in` does that: a notifier that
can :meth:`StagingNotifier.stage` writes the message into the caller's own session (the outbox row
commits or rolls back with the change it reports, savepoints included); any other notifier is told
at once, as before.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from core.commands.types import OutboundMessage


class Notifier(Protocol):
    """Queue a message for delivery to one chat."""

    def notify(self, message: OutboundMessage) -> None: ...


@runtime_checkable
class StagingNotifier(Protocol):
    """A notifier that can also store a message inside the caller's transaction."""

    def notify(self, message: OutboundMessage) -> None: ...

    def stage(self, session: Session, message: OutboundMessage) -> None: ...


def notify_in(session: Session, notifier: Notifier | None, message: OutboundMessage) -> None:
    """Queue ``message`` as part of ``session``'s transaction when the notifier supports it."""
    if notifier is None:
        return
    if isinstance(notifier, StagingNotifier):
        notifier.stage(session, message)
    else:
        notifier.notify(message)


class CollectingNotifier:
    """Keeps messages in a list: for tests, scripts and ``arena replay`` without chats."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    def notify(self, message: OutboundMessage) -> None:
        self.messages.append(message)
