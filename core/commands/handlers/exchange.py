"""The internal exchange and the proof of liabilities in chat: /book, /ask, /bid, /orders, /cancel,
/proof. /ask and /bid go through a Confirm button like every money command; fills are pushed to both
sides' owners after the confirming transaction commits. Numbers go through ``core.formatting``."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import exchange
from core.audit.liabilities import proof_for, published_root
from core.billing.plans import check_new_token
from core.commands.confirmations import ask as ask_to_confirm
from core.commands.confirmations import executes
from core.commands.context import Ctx
from core.commands.handlers.common import org_wallet, owned_wallet
from core.commands.parsing import id_arg, symbol_arg
from core.commands.registry import handles
from core.commands.types import Attachment, Button, Command, OutboundMessage, Reply
from core.compliance.agreement import require_current_agreement
from core.errors import UnknownToken, ValidationError
from core.exchange.notices import tell_fills
from core.exchange.orders import NewOrder
from core.exchange.results import OrderResult
from core.formatting import cash, count, datetime_text, nav, quantity
from core.models.chat import PendingConfirmation
from core.models.exchange import OrderSide
from core.models.tokens import StrategyToken
from core.money import mul


class _Outbox:
    """A Notifier that appends to the command's outbox (pushed after commit)."""

    def __init__(self, outbox: list[OutboundMessage]) -> None:
        self.outbox = outbox

    def notify(self, message: OutboundMessage) -> None:
        self.outbox.append(message)


@handles("book", read_only=True)
def book(ctx: Ctx, cmd: Command) -> Reply:
    """A token's order book: best prices, last trades and NAV."""
    if len(cmd.args) != 1:
        raise ValidationError("Usage: /book SYMBOL")
    b = exchange.order_book(ctx.session, symbol_arg(cmd.args[0]), ctx.now())
    left = b.total_supply - b.circulating
    lines = [
        f"{b.symbol} ({b.status}) - NAV {nav(b.nav)}, {quantity(left, 0)} of {quantity(b.total_supply, 0)} "
        "unissued" + (" (sold out: buy from holders here)" if left <= 0 else "")
    ]
    lines.append("Asks (sell):" if b.asks else "Asks (sell): none")
    lines += [
        f"  {nav(level.price)} x {quantity(level.quantity)} ({count(level.orders)})" for level in b.asks
    ]
    lines.append("Bids (buy):" if b.bids else "Bids (buy): none")
    lines += [
        f"  {nav(level.price)} x {quantity(level.quantity)} ({count(level.orders)})" for level in b.bids
    ]
    if b.trades:
        lines.append(
            "Last trades: " + ", ".join(f"{quantity(t.quantity)} @ {nav(t.price)}" for t in b.trades)
        )
    lines.append(f"Trade: /ask {b.symbol} QTY PRICE or /bid {b.symbol} QTY PRICE")
    return Reply("\n".join(lines))


def _order_request(ctx: Ctx, cmd: Command, side: OrderSide) -> Reply:
    usage = f"/{side.value} SYMBOL QUANTITY PRICE [DAYS]"
    if len(cmd.args) not in (3, 4):
        raise ValidationError(f"Usage: {usage} (PRICE in dollars per token)")
    symbol = symbol_arg(cmd.args[0])
    qty, price = exchange.parse_quantity(cmd.args[1]), exchange.parse_price(cmd.args[2].lstrip("$"))
    days = id_arg(cmd.args[3], "days") if len(cmd.args) == 4 else ctx.settings.exchange_order_days
    wallet = owned_wallet(ctx)
    token = ctx.session.scalar(select(StrategyToken).where(StrategyToken.symbol == symbol))
    if token is None:
        raise UnknownToken(f"No token {symbol}; see /tokens.")
    exchange.check_tradable(ctx.session, token)
    require_current_agreement(ctx.session, wallet.organisation_id)
    if side is OrderSide.BID:  # checked again when the order is placed
        check_new_token(ctx.session, wallet, token)
    exchange.check_band(token, price)
    value = mul(qty, price)
    verb = "Sell" if side is OrderSide.ASK else "Buy"
    summary = (
        f"{verb} {quantity(qty)} {symbol} at {nav(price)} per token (NAV {nav(token.nav_per_token)}), "
        f"{cash(value)} in total, good for {count(days)} days? Matching orders fill at once at their "
        "price; the rest waits on the book"
        + (" with its tokens reserved." if side is OrderSide.ASK else " with its cash reserved.")
    )
    return ask_to_confirm(
        ctx,
        Command(cmd.identity, side.value, (symbol, str(qty), str(price), str(days)), cmd.idempotency_key),
        summary,
    )


@handles("ask")
def ask(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm offering QTY tokens at PRICE."""
    return _order_request(ctx, cmd, OrderSide.ASK)


@handles("bid")
def bid(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm bidding for QTY tokens at PRICE."""
    return _order_request(ctx, cmd, OrderSide.BID)


def _placed_text(result: OrderResult) -> str:
    verb = "sold" if result.side == "ask" else "bought"
    parts = [f"{result.side.capitalize()} #{result.order_id} placed."]
    for fill in result.fills:
        fee = f" + {cash(fill.fee)} fee" if fill.fee > 0 else ""
        parts.append(
            f"Filled: {verb} {quantity(fill.quantity)} {result.symbol} at {nav(fill.price)} "
            f"for {cash(fill.cash)}{fee}."
        )
    if result.status == "open":
        held = f", {cash(result.cash_reserved)} reserved" if result.cash_reserved > 0 else ", tokens reserved"
        expires = datetime_text(datetime.fromisoformat(result.expires_at))
        parts.append(
            f"{quantity(result.remaining)} wait on the book{held} until {expires}. /orders to see or "
            "cancel it."
        )
    elif not result.fills:
        parts.append("Nothing was traded.")
    return " ".join(parts)


def _execute(ctx: Ctx, session: Session, args: list[str], side: OrderSide, key: str) -> str:
    w = owned_wallet(ctx)
    order = NewOrder(
        w.id,
        side,
        args[0],
        exchange.parse_quantity(args[1]),
        exchange.parse_price(args[2]),
        int(args[3]),
        key,
        ctx.user.id if ctx.user else None,
    )
    return _placed_text(place_and_tell(ctx, session, order))


def place_and_tell(ctx: Ctx, session: Session, order: NewOrder) -> OrderResult:
    """Place ``order`` in ``session``'s transaction and queue the fill notices for both sides' owners
    (pushed after commit): the one path of chat and the REST API."""
    result = exchange.place_order_in(session, ctx.now(), order)
    tell_fills(session, _Outbox(ctx.outbox), result.fills)
    return result


@executes("ask")
def run_ask(ctx: Ctx, session: Session, row: PendingConfirmation, key: str) -> str:
    return _execute(ctx, session, list(row.args), OrderSide.ASK, key)


@executes("bid")
def run_bid(ctx: Ctx, session: Session, row: PendingConfirmation, key: str) -> str:
    return _execute(ctx, session, list(row.args), OrderSide.BID, key)


@handles("orders", read_only=True)
def orders(ctx: Ctx, cmd: Command) -> Reply:
    """Your organisation wallet's open orders, each with a cancel button."""
    w = org_wallet(ctx)
    views = exchange.list_orders(ctx.session, wallet_ids={w.id})
    if not views:
        return Reply("You have no open orders. Place one with /ask or /bid; /book SYMBOL shows the market.")
    lines = ["Your open orders:"]
    for v in views:
        held = f", {cash(v.cash_reserved)} reserved" if v.cash_reserved > 0 else ""
        lines.append(
            f"#{v.order_id} {v.side} {quantity(v.remaining)} of {quantity(v.quantity)} {v.symbol} at "
            f"{nav(v.price)}{held}, until {datetime_text(v.expires_at)}"
        )
    buttons = [[Button(f"Cancel #{v.order_id}", f"cancel order {v.order_id}")] for v in views[:10]]
    return Reply("\n".join(lines), buttons=buttons)


def cancel_order(ctx: Ctx, cmd: Command) -> Reply:
    """/cancel ID (typed) or the Cancel button of /orders: cancel an open order of your wallet."""
    args = cmd.args[1:] if cmd.args[:1] == ("order",) else cmd.args
    if len(args) != 1:
        raise ValidationError("Usage: /cancel ORDER_ID (see /orders)")
    order_id = id_arg(args[0], "order id")
    w = owned_wallet(ctx)
    closed = exchange.cancel_order_in(ctx.session, ctx.now(), order_id, wallet_ids={w.id})
    if closed.already_closed:
        return Reply(f"Order #{order_id} is already {closed.status}; nothing to cancel.")
    released = (
        cash(closed.released_cash)
        if closed.side == "bid"
        else f"{quantity(closed.released_units)} {closed.symbol}"
    )
    return Reply(f"Order #{order_id} cancelled; {released} released back to your wallet.")


@handles("proof")
def proof(ctx: Ctx, cmd: Command) -> Reply:
    """Your wallet's inclusion proof in the latest proof of liabilities, as a JSON file."""
    w = org_wallet(ctx)
    root = published_root(ctx.session)
    data = proof_for(ctx.session, w.id)
    assert root is not None  # proof_for found a publication
    name = f"proof-wallet{w.id}-{root.as_of.isoformat()}.json"
    text = (
        f"Proof of liabilities of {root.as_of.isoformat()} for wallet #{w.id}: root {root.root}, "
        f"{count(root.wallet_count)} wallets, ledger chain head #{count(root.chain_seq)}.\n"
        f"Verify it offline: arena proof verify {name} --root {root.root}\n"
        "Keep the file private: it contains your wallet's secret salt."
    )
    payload = json.dumps(data, indent=2).encode()
    return Reply(
        text, attachments=[Attachment(name, payload, "application/json", "Your proof of liabilities")]
    )
