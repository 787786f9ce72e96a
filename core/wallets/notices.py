"""Telling wallet owners things through the core :class:`~core.notify.Notifier` interface.

A user's chat is their ``chat_preferences`` row when they have one; otherwise their private chat,
whose id equals the numeric user id on Telegram (and the DM on Discord/console). System users get
nothing. Messages are queued with :func:`core.notify.notify_in`: the durable outbox stores them in the
caller's own transaction, so a message leaves exactly when the change it reports commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.commands.types import Button, OutboundMessage, Reply
from core.models import Platform, User, WalletOwner
from core.models.chat import ChatPreference
from core.notify import Notifier, notify_in


def owner_chats(session: Session, wallet_id: int) -> list[tuple[str, int]]:
    users = session.scalars(
        select(User).join(WalletOwner, WalletOwner.user_id == User.id)
        .where(WalletOwner.wallet_id == wallet_id).order_by(User.id)
    ).all()
    chats: list[tuple[str, int]] = []
    for user in users:
        if user.platform is Platform.SYSTEM:
            continue
        pref = session.scalars(
            select(ChatPreference).where(ChatPreference.platform == user.platform.value,
                                         ChatPreference.platform_user_id == user.platform_user_id)
        ).first()
        chats.append((user.platform.value, pref.chat_id if pref else user.platform_user_id))
    return chats


def tell_owners(session: Session, notifier: Notifier | None, wallet_id: int, text: str,
                buttons: list[list[Button]] | None = None) -> int:
    """Queue ``text`` to every owner of ``wallet_id``; returns how many messages were queued."""
    if notifier is None:
        return 0
    chats = owner_chats(session, wallet_id)
    for platform, chat_id in chats:
        notify_in(session, notifier, OutboundMessage(platform=platform, chat_id=chat_id,
                                                     reply=Reply(text=text, buttons=list(buttons or []))))
    return len(chats)
