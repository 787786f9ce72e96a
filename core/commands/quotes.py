"""Quotes and pre-checks for money commands: everything that can fail at execution is checked
before a Confirm button is shown, and the quoted NAV is the one the trade will use.

The management fee settles *before* the quote (the ledger settles it before every trade anyway), so
a buy confirmed straight away fills at the quoted NAV; only fee time elapsed between quote and
press, or other people's trades, can move it. The ledger re-checks everything at execution.
Units: cash in USD, quantities in token units, NAV in USD per token.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from core import formatting
from core.billing.plans import check_new_token
from core.commands.context import Ctx
from core.compliance.agreement import require_current_agreement
from core.errors import (
    InsufficientCash,
    InsufficientTokens,
    SoldOut,
    TokenNotTradable,
    TradingHalted,
    UnknownToken,
)
from core.ledger import dust
from core.ledger.fees import nav_of, refresh_nav, settle_management_fee
from core.ledger.locks import lock_token
from core.ledger.postings import LedgerWriter
from core.models.tokens import StrategyToken, TokenHolding, TokenStatus
from core.models.wallets import AIWallet
from core.models.wallets_ext import RedemptionRequest
from core.money import CASH_QUANTUM, TOKEN_QUANTUM, div, mul, round_down
from core.risk.circuit import is_halted

ZERO = Decimal(0)
HALTED = "Trading is halted by the platform's circuit breaker; nothing can be bought or redeemed now."


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    nav: Decimal  # USD per token, fees settled
    quantity: Decimal  # tokens bought (estimate) or redeemed
    cash: Decimal  # cash paid or (estimated) received
    whole_position: bool = False


def _token(ctx: Ctx, symbol: str) -> StrategyToken:
    if ctx.session.scalar(select(StrategyToken.id).where(StrategyToken.symbol == symbol)) is None:
        raise UnknownToken(f"There is no token {symbol}; /tokens lists them.")
    return lock_token(ctx.session, symbol)


def settled(ctx: Ctx, symbol: str) -> StrategyToken:
    """The token, locked, with its management fee settled up to now (as a trade would)."""
    if is_halted(ctx.session):
        raise TradingHalted(HALTED)
    token = _token(ctx, symbol)
    writer = LedgerWriter(ctx.session, ctx.now())
    if settle_management_fee(ctx.session, writer, token, ctx.now()) > 0:
        writer.flush()
        refresh_nav(token)
    return token


def held(ctx: Ctx, wallet: AIWallet, token: StrategyToken) -> Decimal:
    quantity = ctx.session.scalar(
        select(TokenHolding.quantity).where(TokenHolding.wallet_id == wallet.id,
                                            TokenHolding.token_id == token.id)
    )
    return quantity or ZERO


def reserved(ctx: Ctx, wallet: AIWallet, token: StrategyToken) -> Decimal:
    """Units of ``token`` locked by the wallet's open exchange asks (not redeemable)."""
    units = ctx.session.scalar(
        select(TokenHolding.reserved).where(TokenHolding.wallet_id == wallet.id,
                                            TokenHolding.token_id == token.id)
    )
    return units or ZERO


def quote_buy(ctx: Ctx, wallet: AIWallet, symbol: str, cash: Decimal) -> Quote:
    """Every check a buy of ``cash`` USD will face, and its NAV and estimated tokens."""
    require_current_agreement(ctx.session, wallet.organisation_id)
    token = settled(ctx, symbol)
    if token.status is not TokenStatus.ACTIVE:
        raise TokenNotTradable(f"{symbol} is {token.status.value}; only active tokens can be bought.")
    spendable = wallet.cash - wallet.cash_reserved  # open exchange bids reserve cash
    if spendable < cash:
        locked = (f" free ({formatting.cash(wallet.cash_reserved)} more is reserved by open orders)"
                  if wallet.cash_reserved > 0 else "")
        raise InsufficientCash(
            f"Your wallet has {formatting.cash(spendable)} in cash{locked}, less than "
            f"{formatting.cash(cash)}; buy less, or an admin can /deposit first."
        )
    nav = nav_of(token)
    tokens = round_down(div(cash, nav), TOKEN_QUANTUM) if nav > 0 else ZERO
    remaining = token.total_supply - token.circulating_supply
    if remaining <= 0:
        raise SoldOut(f"{symbol} is sold out; tokens can still change hands between holders on the "
                      f"internal exchange: /book {symbol} shows the offers, /bid places one.")
    if tokens > remaining:
        most = round_down(mul(remaining, nav), CASH_QUANTUM)
        raise SoldOut(f"Only {formatting.quantity(remaining)} {symbol} are left (about "
                      f"{formatting.cash(most)}); buy less.")
    check_new_token(ctx.session, wallet, token)
    dust.check_buy(symbol, held(ctx, wallet, token), tokens, nav)
    return Quote(symbol, nav, tokens, cash)


def quote_redeem(ctx: Ctx, wallet: AIWallet, symbol: str, quantity: Decimal | None) -> Quote:
    """Every check a redeem faces (``None`` = the whole position), its NAV and estimated cash."""
    require_current_agreement(ctx.session, wallet.organisation_id)
    token = settled(ctx, symbol)
    if token.status in (TokenStatus.PROVING, TokenStatus.CANDIDATE):
        raise TokenNotTradable(f"{symbol} is {token.status.value}; it has no holders to redeem.")
    have = held(ctx, wallet, token)
    queued = sum(ctx.session.scalars(select(RedemptionRequest.quantity).where(
        RedemptionRequest.wallet_id == wallet.id, RedemptionRequest.token_id == token.id,
        RedemptionRequest.status == "queued")), ZERO)
    locked = reserved(ctx, wallet, token)  # reserved by open asks: not redeemable
    free = have - queued - locked
    if free <= 0:
        raise InsufficientTokens(f"Your wallet holds no {symbol} to redeem; /wallet shows what it holds.")
    wanted = free if quantity is None else quantity
    if wanted > free:
        more = f" ({formatting.quantity(queued)} already queued)" if queued > 0 else ""
        if locked > 0:
            more += f" ({formatting.quantity(locked)} reserved by open orders; /orders)"
        raise InsufficientTokens(
            f"Your wallet can redeem at most {formatting.quantity(free)} {symbol}{more}; "
            f"send /sell {symbol} all to redeem everything."
        )
    dust.check_redeem(symbol, have, wanted, nav_of(token))
    estimate = round_down(mul(wanted, nav_of(token)), CASH_QUANTUM)
    return Quote(symbol, nav_of(token), wanted, estimate, whole_position=wanted == have)


__all__ = ["HALTED", "Quote", "quote_buy", "quote_redeem", "settled"]
