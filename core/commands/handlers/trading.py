"""Wallet view and money commands: /wallet, /buy, /sell, /deposit (all money goes via Confirm).

The ask step validates everything it can (token exists and is tradable, caller owns the wallet,
amount well-formed) so a bad request never produces a button; the ledger re-validates at execution.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import ledger, risk
from core.commands.confirmations import ask, executes
from core.commands.context import Ctx
from core.commands.handlers.common import is_owner, org_wallet, owned_wallet
from core.commands.handlers.format import fmt_cash, fmt_nav, fmt_qty
from core.commands.parsing import cash_arg, expect_args, quantity_arg, symbol_arg
from core.commands.registry import handles
from core.commands.types import Command, Reply
from core.errors import TokenNotTradable, UnknownToken
from core.models.chat import PendingConfirmation
from core.models.tokens import StrategyToken, TokenHolding, TokenStatus
from core.money import mul, parse_cash, parse_tokens

TRADABLE = (TokenStatus.ACTIVE, TokenStatus.PROVING)


def tradable_token(ctx: Ctx, symbol: str) -> StrategyToken:
    token = ctx.session.scalar(select(StrategyToken).where(StrategyToken.symbol == symbol))
    if token is None:
        raise UnknownToken(f"No token {symbol}; see /tokens.")
    if token.status not in TRADABLE:
        raise TokenNotTradable(f"{symbol} is {token.status.value} and cannot be traded.")
    return token


@handles("wallet", read_only=True)
def wallet(ctx: Ctx, cmd: Command) -> Reply:
    """The organisation wallet: cash, holdings at NAV, mode."""
    w = org_wallet(ctx)
    rows = ctx.session.execute(
        select(TokenHolding, StrategyToken)
        .join(StrategyToken, TokenHolding.token_id == StrategyToken.id)
        .where(TokenHolding.wallet_id == w.id, TokenHolding.quantity > 0)
        .order_by(StrategyToken.symbol)
    ).all()
    lines = [f"Wallet #{w.id} {w.name} - mode {w.mode.value}, tier {w.tier.value}"]
    total = w.cash
    for holding, token in rows:
        value = mul(holding.quantity, token.nav_per_token)
        total += value
        lines.append(
            f"{token.symbol}: {fmt_qty(holding.quantity)} @ {fmt_nav(token.nav_per_token)}"
            f" = {fmt_cash(value)}"
        )
    lines.append(f"Cash: {fmt_cash(w.cash)}")
    lines.append(f"Total: {fmt_cash(total)}")
    if not is_owner(ctx, w):
        lines.append("(You can view this wallet; only its owners can trade it.)")
    return Reply("\n".join(lines))


@handles("buy")
def buy(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm buying SYMBOL for AMOUNT dollars."""
    symbol_text, amount_text = expect_args(cmd.args, 2, "/buy SYMBOL AMOUNT")
    symbol, amount = symbol_arg(symbol_text), cash_arg(amount_text)
    owned_wallet(ctx)
    token = tradable_token(ctx, symbol)
    summary = f"Buy {fmt_cash(amount)} of {symbol} at NAV (now {fmt_nav(token.nav_per_token)} per token)?"
    return ask(ctx, Command(cmd.identity, "buy", (symbol, str(amount)), cmd.idempotency_key), summary)


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
        f"Bought {fmt_qty(trade.tokens)} {trade.symbol} for {fmt_cash(trade.cash)} "
        f"at {fmt_nav(trade.nav_per_token)}. Cash left: {fmt_cash(trade.cash_balance)}."
    )


@handles("sell")
def sell(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm redeeming QUANTITY tokens of SYMBOL."""
    symbol_text, quantity_text = expect_args(cmd.args, 2, "/sell SYMBOL QUANTITY")
    symbol, quantity = symbol_arg(symbol_text), quantity_arg(quantity_text)
    owned_wallet(ctx)
    token = ctx.session.scalar(select(StrategyToken).where(StrategyToken.symbol == symbol))
    if token is None:
        raise UnknownToken(f"No token {symbol}; see /tokens.")
    estimate = mul(quantity, token.nav_per_token)
    summary = f"Redeem {fmt_qty(quantity)} {symbol} at NAV (about {fmt_cash(estimate)} now)?"
    return ask(ctx, Command(cmd.identity, "sell", (symbol, str(quantity)), cmd.idempotency_key), summary)


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
    return outcome.message


@handles("deposit")
def deposit(ctx: Ctx, cmd: Command) -> Reply:
    """Ask to confirm adding AMOUNT dollars of paper cash to the wallet."""
    (amount_text,) = expect_args(cmd.args, 1, "/deposit AMOUNT")
    amount = cash_arg(amount_text)
    owned_wallet(ctx)
    summary = f"Deposit {fmt_cash(amount)} of paper cash into your wallet?"
    return ask(ctx, Command(cmd.identity, "deposit", (str(amount),), cmd.idempotency_key), summary)


@executes("deposit")
def run_deposit(ctx: Ctx, session: Session, row: PendingConfirmation, key: str) -> str:
    """Execute a confirmed deposit."""
    w = owned_wallet(ctx)
    moved = ledger.deposit_in(session, ctx.now(), w.id, parse_cash(row.args[0]), idempotency_key=key)
    return f"Deposited {fmt_cash(moved.amount)}. Cash now: {fmt_cash(moved.cash_balance)}."
