"""Helpers shared by handler modules: the caller's user row, wallet lookup, chat preferences."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select

from core.commands.context import Ctx
from core.commands.types import ChatType
from core.compliance.identity import get_or_create_user
from core.db import insert_if_absent
from core.errors import NotFound, PermissionDenied
from core.models.chat import ChatPreference
from core.models.compliance import User
from core.models.wallets import AIWallet, WalletOwner


def ensure_user(ctx: Ctx) -> User:
    """The caller's user row, created on their first write."""
    if ctx.user is None:
        ident = ctx.identity
        ctx.user = get_or_create_user(
            ctx.session, ident.platform, ident.user_id, ident.display_name, ctx.clock
        )
    return ctx.user


_PREFERENCES = cast(Table, ChatPreference.__table__)


def remember_chat(ctx: Ctx) -> None:
    """Store the private chat id where pushes (digests, proposals) reach this user.

    A user's first two messages may be handled at once; the row is created with ON CONFLICT DO
    NOTHING (two plain inserts: the loser died with a unique violation), then read and updated."""
    ident = ctx.identity
    if ident.chat_type is not ChatType.PRIVATE:
        return
    query = select(ChatPreference).where(
        ChatPreference.platform == ident.platform,
        ChatPreference.platform_user_id == ident.user_id,
    )
    pref = ctx.session.scalar(query)
    if pref is None:
        row = {"platform": ident.platform, "platform_user_id": ident.user_id,
               "chat_id": ident.chat_id, "updated_at": ctx.now()}
        if insert_if_absent(ctx.session, _PREFERENCES, row, ("platform", "platform_user_id")):
            return
        pref = ctx.session.scalars(query.execution_options(populate_existing=True)).one()
    if pref.chat_id != ident.chat_id:
        pref.chat_id = ident.chat_id
        pref.updated_at = ctx.now()


def org_wallet(ctx: Ctx) -> AIWallet:
    """The wallet of the caller's organisation (read access for any member)."""
    user = ctx.user
    if user is None or user.organisation_id is None:
        raise NotFound("You have no organisation yet; send /start to register one.")
    wallet = ctx.session.scalar(
        select(AIWallet)
        .where(AIWallet.organisation_id == user.organisation_id, AIWallet.is_house.is_(False))
        .order_by(AIWallet.id)
    )
    if wallet is None:
        raise NotFound(
            "Your organisation has no wallet yet; it is created when the organisation is verified."
        )
    return wallet


def is_owner(ctx: Ctx, wallet: AIWallet) -> bool:
    user = ctx.user
    if user is None:
        return False
    return (
        ctx.session.scalar(
            select(WalletOwner.id).where(WalletOwner.wallet_id == wallet.id, WalletOwner.user_id == user.id)
        )
        is not None
    )


def owned_wallet(ctx: Ctx) -> AIWallet:
    """The caller's organisation wallet, refused unless the caller is one of its owners."""
    wallet = org_wallet(ctx)
    if not is_owner(ctx, wallet):
        raise PermissionDenied("Only the wallet's owners can do that.")
    return wallet
