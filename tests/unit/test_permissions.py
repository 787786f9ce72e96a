"""The permission table and the gate's rule, checked against expectations written out here by hand
(not read from the table): roles, chat types, money and button-only flags, usages and the denial
texts a person sees. Fast (no database): the mutation run of core/commands/permissions uses it."""

from __future__ import annotations

import pytest

from core.commands.permissions import ANYWHERE, PERMISSIONS, PRIVATE, Permission, allowed, denial
from core.commands.types import ChatType, Role

ROLES = [Role.VISITOR, Role.MEMBER, Role.VERIFIED_MEMBER, Role.ORG_ADMIN, Role.PLATFORM_ADMIN]
MONEY = {"buy", "sell", "deposit", "rebalance", "ask", "bid"}
BUTTON_ONLY = {"confirm", "proposal", "menu"}
PRIVATE_ONLY = {"start", "attest", "org", "import", "buy", "sell", "deposit", "mode", "rebalance",
                "verify", "retire", "halt", "resume", "stats", "ask", "bid", "orders", "proof",
                "plan", "risk", "agreement", "apply", "pending", "deny",
                "statement", "submit", "bounties", "apikey", "dashboard"}
LOWEST = {
    "start": 0, "help": 0, "disclosures": 0, "attest": 0, "org": 0, "tokens": 0, "token": 0,
    "strategies": 0, "confirm": 0, "cancel": 0, "backtest": 1, "import": 1, "wallet": 1, "digest": 1,
    "buy": 2, "sell": 2, "suggest": 2, "deposit": 3, "mode": 3, "rebalance": 3, "approve": 3,
    "reject": 3, "proposal": 3, "proposals": 2, "book": 0, "ask": 2, "bid": 2, "orders": 2,
    "proof": 1, "menu": 0, "plan": 1, "risk": 3, "agreement": 1, "apply": 1, "pending": 4, "deny": 4,
    "statement": 1, "submit": 1, "bounties": 1,
    "verify": 4, "retire": 4, "halt": 4, "resume": 4, "stats": 4,
    "apikey": 0,
    "dashboard": 3,
}
USAGE = {"buy": "/buy SYMBOL AMOUNT", "sell": "/sell SYMBOL QUANTITY|all", "cancel": "/cancel ORDER_ID",
         "ask": "/ask SYMBOL QTY PRICE [DAYS]", "bid": "/bid SYMBOL QTY PRICE [DAYS]",
         "deposit": "/deposit AMOUNT",
         "mode": "/mode full-ai|hybrid|manual", "verify": "/verify ORG", "confirm": "(button)"}


def test_every_row_is_keyed_by_its_own_name_and_fully_described() -> None:
    assert set(PERMISSIONS) == set(LOWEST)
    for name, permission in PERMISSIONS.items():
        assert permission.name == name
        assert permission.usage and permission.summary and permission.summary[0].isupper()
        assert isinstance(permission.chats, frozenset) and permission.chats


@pytest.mark.parametrize("name", sorted(LOWEST))
def test_flags_roles_and_chats(name: str) -> None:
    permission = PERMISSIONS[name]
    assert permission.money is (name in MONEY)
    assert permission.button_only is (name in BUTTON_ONLY)
    assert permission.min_role is ROLES[LOWEST[name]]
    expected_chats = {ChatType.PRIVATE} if name in PRIVATE_ONLY else {ChatType.PRIVATE, ChatType.GROUP}
    assert set(permission.chats) == expected_chats
    if name in USAGE:
        assert permission.usage == USAGE[name]
    elif not permission.button_only:
        assert permission.usage.startswith(f"/{name}")


def test_chat_sets() -> None:
    assert {ChatType.PRIVATE} == PRIVATE
    assert {ChatType.PRIVATE, ChatType.GROUP} == ANYWHERE


@pytest.mark.parametrize("name", sorted(LOWEST))
@pytest.mark.parametrize("rank", range(5))
@pytest.mark.parametrize("chat", [ChatType.PRIVATE, ChatType.GROUP])
def test_allowed_is_rank_and_chat(name: str, rank: int, chat: ChatType) -> None:
    expected = rank >= LOWEST[name] and (chat is ChatType.PRIVATE or name not in PRIVATE_ONLY)
    assert allowed(ROLES[rank], chat, PERMISSIONS[name]) is expected


def test_denials_say_why() -> None:
    buy, verify, mode = PERMISSIONS["buy"], PERMISSIONS["verify"], PERMISSIONS["mode"]
    assert denial(Role.ORG_ADMIN, ChatType.GROUP, buy) == "/buy only works in a private chat with the bot."
    assert denial(Role.ORG_ADMIN, ChatType.PRIVATE, verify) == "That command is for platform administrators."
    assert denial(Role.VISITOR, ChatType.PRIVATE, buy) == (
        "Complete onboarding first: send /start in a private chat with the bot.")
    assert denial(Role.MEMBER, ChatType.PRIVATE, buy) == (
        "Your organisation must be verified before you can do that.")
    assert denial(Role.VERIFIED_MEMBER, ChatType.PRIVATE, mode) == (
        "Only your organisation's admin can do that.")


def test_permission_defaults() -> None:
    plain = Permission("x", Role.VISITOR, PRIVATE, "/x", "X")
    assert plain.money is False and plain.button_only is False


def test_the_row_builder_keeps_every_field_in_its_place() -> None:
    from core.commands.permissions import _p

    row = _p("x", Role.MEMBER, PRIVATE, "/x ARG", "Do x")
    assert row == Permission("x", Role.MEMBER, PRIVATE, "/x ARG", "Do x", False, False)
    assert (row.name, row.min_role, row.chats, row.usage, row.summary) == (
        "x", Role.MEMBER, PRIVATE, "/x ARG", "Do x")
    assert row.money is False and row.button_only is False
    flagged = _p("y", Role.ORG_ADMIN, ANYWHERE, "(button)", "Y", money=True, button_only=True)
    assert flagged.money is True and flagged.button_only is True
