"""Wallet view and money commands: /wallet, /buy, /sell, /deposit (all money goes via Confirm).

The ask step runs every check that can fail at execution (:mod:`core.commands.quotes`: token
tradable, cash or holding enough, supply left, no dust left behind, trading not halted) and settles
fees before quoting, so a button is only shown for a trade that will go through at the quoted NAV;
the ledger re-validates at execution.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import formatting, ledger, risk
from core.billing.plans import plan_of
from core.commands.api_views import holdings_at_nav
from core.commands.confirmations import ask, executes
from core.commands.context import Ctx
from core.commands.handlers.common import is_owner, org_wallet, owned_wallet
from core.commands.parsing import cash_arg, expect_args, quantity_arg, symbol_arg
from core.commands.quotes import quote_buy, quote_redeem
from core.commands.registry import handles
from core.commands.types import Command, Reply
from core.models.chat import PendingConfirmation
from core.money import parse_cash, parse_tokens


@handles("wallet", read_only=True)
def wallet(ctx: Ctx, cmd: Command) -> Reply:
    """The organisation wallet: cash, holdings at NAV, mode."""
    w = org_wallet(ctx)
    rows, total = holdings_at_nav(ctx.session, w)
    mode = formatting.mode_name(w.mode)
    lines = [f"Wallet #{w.id} {w.name}: {mode} mode, {plan_of(w.tier).name} plan (/plan)"]
    for holding, token, value in rows:
        lines.append(
            f"{token.symbol}: {formatting.quantity(holding.quantity)} tokens at NAV "
            f"{formatting.nav(token.nav_per_token)} = {formatting.cash(value)}"
        )
    lines.append(f"Cash: {formatting.cash(w.cash)}")
    lines.append(f"Total: {formatting.cash(total)}")
    if not is_owner(ctx, w):
        lines.append("(You can view this wallet; only its owners can trade it.)")
    elif not rows and w.cash == 0:
        lines.append("Next: /deposit AMOUNT adds paper cash (organisation admins).")
    elif not rows:
        lines.append("Next: /tokens to choose, then /buy SYMBOL AMOUNT; or /suggest.")
    return Reply("\n".join(lines))


@handles("buy")
def buy(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm buying SYMBOL for AMOUNT dollars (every check runs before the button)."""
    symbol_text, amount_text = expect_args(cmd.args, 2, "/buy SYMBOL AMOUNT (for example /buy SYMBOL 1,000)")
    symbol, amount = symbol_arg(symbol_text), cash_arg(amount_text)
    quote = quote_buy(ctx, owned_wallet(ctx), symbol, amount)
    summary = (
        f"Buy {formatting.cash(amount)} of {symbol} at NAV {formatting.nav(quote.nav)} per token "
        f"(about {formatting.quantity(quote.quantity)} tokens)?"
    )
    return ask(ctx, Command(cmd.identity, "buy", (symbol, format(amount, "f")), cmd.idempotency_key), summary)


@executes("buy")
def run_buy(ctx: Ctx, session: Session, row: PendingConfirmation, key: str) -> str:
    """Execute a confirmed buy."""
    w = owned_wallet(ctx)
    trade = ledger.buy_in(
        session,
        ctx.now(),
        wallet_id=w.id,
        symbol=row.args[0],
        cash=parse_cash(row.args[1]),
        idempotency_key=key,
    )
    return (
        f"Bought {formatting.quantity(trade.tokens)} {trade.symbol} for {formatting.cash(trade.cash)} "
        f"at NAV {formatting.nav(trade.nav_per_token)}. Cash left: {formatting.cash(trade.cash_balance)}."
    )


@handles("sell")
def sell(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm redeeming QUANTITY (or all) tokens of SYMBOL (checks run before the button)."""
    symbol_text, quantity_text = expect_args(cmd.args, 2, "/sell SYMBOL QUANTITY (or /sell SYMBOL all)")
    symbol, quantity = symbol_arg(symbol_text), quantity_arg(quantity_text)
    quote = quote_redeem(ctx, owned_wallet(ctx), symbol, quantity)
    whole = " That is the whole position." if quote.whole_position else ""
    summary = (
        f"Redeem {formatting.quantity(quote.quantity)} {symbol} at NAV {formatting.nav(quote.nav)} "
        f"(about {formatting.cash(quote.cash)} now)?{whole}"
    )
    args = (symbol, format(quote.quantity, "f"))
    return ask(ctx, Command(cmd.identity, "sell", args, cmd.idempotency_key), summary)


@executes("sell")
def run_sell(ctx: Ctx, session: Session, row: PendingConfirmation, key: str) -> str:
    """Execute a confirmed redemption (above the daily limit the rest queues for tomorrow)."""
    w = owned_wallet(ctx)
    outcome = risk.redeem_or_queue_in(
        session,
        ctx.now(),
        wallet_id=w.id,
        symbol=row.args[0],
        quantity=parse_tokens(row.args[1]),
        idempotency_key=key,
    )
    done = (
        f"Redeemed {formatting.quantity(outcome.redeemed_now)} {outcome.symbol} for "
        f"{formatting.cash(outcome.cash_now)}."
    )
    if outcome.queued > 0:
        done += (
            f" The other {formatting.quantity(outcome.queued)} are queued (request #{outcome.request_id}) "
            "for tomorrow: a token pays out at most 10% of its AUM per day, first come first served."
        )
    return done


@handles("deposit")
def deposit(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm adding AMOUNT dollars of paper cash to the wallet."""
    (amount_text,) = expect_args(cmd.args, 1, "/deposit AMOUNT (for example /deposit 10,000)")
    amount = cash_arg(amount_text)
    owned_wallet(ctx)
    summary = f"Deposit {formatting.cash(amount)} of paper cash into your wallet?"
    return ask(ctx, Command(cmd.identity, "deposit", (format(amount, "f"),), cmd.idempotency_key), summary)


@executes("deposit")
def run_deposit(ctx: Ctx, session: Session, row: PendingConfirmation, key: str) -> str:
    """Execute a confirmed deposit."""
    w = owned_wallet(ctx)
    moved = ledger.deposit_in(session, ctx.now(), w.id, parse_cash(row.args[0]), idempotency_key=key)
    return (
        f"Deposited {formatting.cash(moved.amount)}. Cash now: {formatting.cash(moved.cash_balance)}. "
        "Next: /tokens to choose, then /buy SYMBOL AMOUNT; or /plan for the AI modes (/mode hybrid)."
    )
