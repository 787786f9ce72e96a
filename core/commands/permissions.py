"""The permission table: the single source of truth for which commands exist and who may run them.

Deny by default: a command absent from :data:`PERMISSIONS` is refused, and the registry test fails
when the set of registered handlers differs from this table. ``money`` commands go through a
confirmation button and are never run from an edited message. ``button_only`` commands are the
targets of buttons (confirm/cancel, onboarding steps) and are not listed in ``/help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.commands.types import ChatType, Role, role_rank

PRIVATE = frozenset({ChatType.PRIVATE})
ANYWHERE = frozenset({ChatType.PRIVATE, ChatType.GROUP})


@dataclass(frozen=True, slots=True)
class Permission:
    """Who may run a command, where, and how it is described to users."""

    name: str
    min_role: Role
    chats: frozenset[ChatType]
    usage: str
    summary: str
    money: bool = False
    button_only: bool = False


def _p(
    name: str,
    role: Role,
    chats: frozenset[ChatType],
    usage: str,
    summary: str,
    *,
    money: bool = False,
    button_only: bool = False,
) -> Permission:
    return Permission(name, role, chats, usage, summary, money, button_only)


V, M, VM = Role.VISITOR, Role.MEMBER, Role.VERIFIED_MEMBER
OA, PA = Role.ORG_ADMIN, Role.PLATFORM_ADMIN

PERMISSIONS: dict[str, Permission] = {
    p.name: p
    for p in (
        # Onboarding and compliance: personal, so private chats only.
        _p("start", V, PRIVATE, "/start", "Begin onboarding: disclosures and attestations"),
        _p("help", V, ANYWHERE, "/help", "List the commands you can use"),
        _p("disclosures", V, ANYWHERE, "/disclosures", "Show the current risk disclosures"),
        _p("attest", V, PRIVATE, "/attest KIND", "Record one attestation (see /start)"),
        _p("org", V, PRIVATE, "/org [register KIND NAME]", "Show or register your organisation"),
        _p("agreement", M, PRIVATE, "/agreement", "Read your PMA agreement (PDF) and accept it"),
        _p("apply", M, PRIVATE, "/apply [ein|trust|trustees|legal VALUE]", "Your verification application"),
        # Browsing: anyone, anywhere.
        _p("tokens", V, ANYWHERE, "/tokens", "List strategy tokens and their NAV"),
        _p("token", V, ANYWHERE, "/token SYMBOL", "Details of one strategy token"),
        _p("strategies", V, ANYWHERE, "/strategies", "Imported strategy candidates"),
        _p("backtest", M, ANYWHERE, "/backtest ID", "Backtest results of a candidate"),
        _p("import", M, PRIVATE, "/import URL", "Import a strategy description from a URL"),
        # Wallet and trading.
        _p("wallet", M, ANYWHERE, "/wallet", "Your organisation's AI wallet"),
        _p("digest", M, ANYWHERE, "/digest [HOUR]", "Today's digest, or set the digest hour (UTC)"),
        _p("buy", VM, PRIVATE, "/buy SYMBOL AMOUNT", "Buy a token for AMOUNT dollars", money=True),
        _p("sell", VM, PRIVATE, "/sell SYMBOL QUANTITY|all", "Redeem tokens", money=True),
        _p("deposit", OA, PRIVATE, "/deposit AMOUNT", "Add paper cash to the wallet", money=True),
        _p("mode", OA, PRIVATE, "/mode full-ai|hybrid|manual", "Set the wallet's AI mode"),
        _p("suggest", VM, ANYWHERE, "/suggest", "What the optimizer would do (hybrid: a proposal)"),
        _p("rebalance", OA, PRIVATE, "/rebalance", "Rebalance now (hybrid: a proposal)", money=True),
        _p("proposals", VM, ANYWHERE, "/proposals", "Hybrid proposals waiting for a decision"),
        _p("approve", OA, ANYWHERE, "/approve ID", "Approve a hybrid proposal"),
        # Plans (core.billing): show for members; changing is checked for the org admin in the handler.
        _p("plan", M, PRIVATE, "/plan [free|basic|premium]", "Your plan, its limits and price; change it"),
        _p("risk", OA, PRIVATE, "/risk conservative|balanced|growth|default|volatility N|maxweight N",
           "Premium: the AI's risk profile and cap per token"),
        # Internal exchange (holder to holder) and the proof of liabilities.
        _p("book", V, ANYWHERE, "/book SYMBOL", "A token's order book: bids, asks, last trades, NAV"),
        _p("ask", VM, PRIVATE, "/ask SYMBOL QTY PRICE [DAYS]", "Offer tokens to other holders", money=True),
        _p("bid", VM, PRIVATE, "/bid SYMBOL QTY PRICE [DAYS]", "Bid for tokens held by others", money=True),
        _p("orders", VM, PRIVATE, "/orders", "Your open exchange orders, with cancel buttons"),
        _p("proof", M, PRIVATE, "/proof", "Your wallet's proof of liabilities (JSON file)"),
        _p("reject", OA, ANYWHERE, "/reject ID", "Reject a hybrid proposal"),
        # Money features (issue 14): statements, the import bounty.
        _p("statement", M, PRIVATE, "/statement [YYYY-MM]", "Your organisation's monthly statement (PDF)"),
        _p("submit", M, PRIVATE, "/submit TEXT|URL", "Submit a strategy; your organisation earns the bounty"),
        _p("bounties", M, PRIVATE, "/bounties", "Import bounty: accrued and paid to your organisation"),
        # Button targets.
        _p("confirm", V, ANYWHERE, "(button)", "Confirm a pending action", button_only=True),
        # Typed: cancel an exchange order; as a button: cancel a pending action (or an order).
        _p("cancel", V, ANYWHERE, "/cancel ORDER_ID", "Cancel one of your open exchange orders"),
        _p("proposal", OA, ANYWHERE, "(button)", "Approve or reject a proposal", button_only=True),
        _p("menu", V, ANYWHERE, "(free text)", "What you can do next", button_only=True),
        # Platform admin.
        _p("verify", PA, PRIVATE, "/verify ORG", "Verify a pending organisation"),
        _p("pending", PA, PRIVATE, "/pending", "Applications waiting for verification"),
        _p("deny", PA, PRIVATE, "/deny ORG REASON", "Reject an organisation's application"),
        _p("retire", PA, PRIVATE, "/retire SYMBOL", "Retire a token and wind it down"),
        _p("halt", PA, PRIVATE, "/halt", "Halt trading and rebalancing (circuit breaker)"),
        _p("resume", PA, PRIVATE, "/resume", "Resume trading after a halt"),
        _p("stats", PA, PRIVATE, "/stats", "Platform statistics"),
        # Access outside chat: per-user REST API keys (shown once; private chats only).
        _p("apikey", V, PRIVATE, "/apikey [create [LABEL]|list|revoke ID]", "Your REST API keys"),
        # Web dashboard sign-in (org admins: their organisation; platform admins: everything).
        _p("dashboard", OA, PRIVATE, "/dashboard", "A one-time link to the web dashboard (10 minutes)"),
    )
}

#: Operations that exist only in the REST API (no chat command). Same rule (:func:`allowed`, with
#: the API counted as a private chat), same deny-by-default: a route names one entry of
#: :data:`PERMISSIONS` or of this table, and the route-table test fails for any route that does not.
API_PERMISSIONS: dict[str, Permission] = {
    p.name: p
    for p in (
        _p("token_create", PA, PRIVATE, "POST /api/tokens/create", "Create a strategy token", money=True),
        _p("wallet_create", OA, PRIVATE, "POST /api/wallet/create", "Create the organisation's wallet"),
        _p("proof_root", V, PRIVATE, "GET /api/proof/latest", "The latest published proof of liabilities"),
    )
}


def lookup(name: str) -> Permission | None:
    """The permission row for a chat command or an API-only operation (None: unknown = denied)."""
    return PERMISSIONS.get(name) or API_PERMISSIONS.get(name)


def allowed(role: Role, chat_type: ChatType, permission: Permission) -> bool:
    """The gate's rule: the role is high enough and the chat type is allowed."""
    return role_rank(role) >= role_rank(permission.min_role) and chat_type in permission.chats


def denial(role: Role, chat_type: ChatType, permission: Permission) -> str:
    """A short, clear reason for a refusal (never reveals more than the command's own table row)."""
    if chat_type not in permission.chats:
        return f"/{permission.name} only works in a private chat with the bot."
    if permission.min_role is Role.PLATFORM_ADMIN:
        return "That command is for platform administrators."
    if role is Role.VISITOR:
        return "Complete onboarding first: send /start in a private chat with the bot."
    if role is Role.MEMBER:
        return "Your organisation must be verified before you can do that."
    return "Only your organisation's admin can do that."
