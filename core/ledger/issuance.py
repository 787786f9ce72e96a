"""Token issuance: tokenize a treasury agent, buy tokens with cash, redeem tokens for cash.

ERC-4626 rounding, always in the pool's favour: tokens out on a buy round down, cash out on a
redeem rounds down, so rounding dust stays in the pool (benefiting holders) and never vanishes.
Each token is seeded by the platform (``token_seed_cash`` at NAV 1.00, held by the house wallet) so
the first buyer can never be diluted by an empty-pool edge case. Fees settle before every trade.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from core.billing.plans import check_new_token
from core.compliance.agreement import require_current_agreement
from core.config import get_settings
from core.db import UnitOfWork, insert_if_absent
from core.errors import (
    InsufficientCash,
    InsufficientTokens,
    InvalidAmount,
    NotFound,
    OrganisationNotVerified,
    SoldOut,
    TokenNotTradable,
    ValidationError,
)
from core.formatting import cash as fmt_cash
from core.formatting import quantity as fmt_qty
from core.ledger import dust
from core.ledger.cash import house_wallet, wallet_cash_account
from core.ledger.fees import nav_of, pool_account, refresh_nav, settle_management_fee
from core.ledger.guards import TradeIntent, run_checks
from core.ledger.idempotency import run_idempotent
from core.ledger.locks import NOT_READ, lock_token, lock_wallet_with_holding, normalise_symbol
from core.ledger.postings import (
    AccountRef,
    LedgerWriter,
    Leg,
    ensure_account,
    system_account,
    token_unissued_code,
    wallet_tokens_code,
)
from core.ledger.results import TokenCreated, Trade
from core.ledger.rows import (
    Position,
    position_from_lock,
    read_position,
    write_trade_rows,
)
from core.models import (
    AccountKind,
    AIWallet,
    AuditLog,
    OrgStatus,
    StrategyToken,
    TokenHolding,
    TokenStatus,
    TreasuryAgent,
)
from core.money import (
    CASH_QUANTUM,
    NAV_QUANTUM,
    TOKEN_QUANTUM,
    div,
    mul,
    parse_amount,
    parse_cash,
    parse_tokens,
    round_down,
    round_up,
)

SYMBOL_RE = re.compile(r"^STRAT-[A-Z0-9]+(?:-[A-Z0-9]+)*$")
ONE = Decimal(1)
ZERO = Decimal(0)


def unissued_account(session: Session, token: StrategyToken, now: datetime) -> AccountRef:
    return ensure_account(
        session,
        token_unissued_code(token.id),
        kind=AccountKind.TOKEN_UNISSUED,
        asset=token.symbol,
        token_id=token.id,
        now=now,
    )


def holding_account(
    session: Session, wallet: AIWallet, token: StrategyToken, now: datetime, *, likely_new: bool = False
) -> AccountRef:
    return ensure_account(
        session,
        wallet_tokens_code(wallet.id, token.id),
        kind=AccountKind.WALLET_TOKENS,
        asset=token.symbol,
        wallet_id=wallet.id,
        token_id=token.id,
        now=now,
        likely_new=likely_new,
    )


def get_holding(session: Session, wallet: AIWallet, token: StrategyToken, now: datetime) -> TokenHolding:
    holding = session.scalars(
        select(TokenHolding).where(TokenHolding.wallet_id == wallet.id, TokenHolding.token_id == token.id)
    ).one_or_none()
    if holding is None:
        holding = TokenHolding(
            wallet_id=wallet.id,
            token_id=token.id,
            quantity=ZERO,
            avg_cost_basis=ZERO,
            realized_pnl=ZERO,
            updated_at=now,
        )
        session.add(holding)
        session.flush()
    return holding


# --- tokenize ------------------------------------------------------------------------------------


_TOKENS = cast(Table, StrategyToken.__table__)


def tokenize_in(
    session: Session,
    now: datetime,
    *,
    agent_id: int | None,
    symbol: str,
    name: str,
    total_supply: Decimal,
    status: TokenStatus = TokenStatus.PROVING,
    benchmark_asset: str | None = None,
) -> StrategyToken:
    settings = get_settings()
    cleaned = normalise_symbol(symbol)
    if not SYMBOL_RE.match(cleaned):
        raise ValidationError(f"token symbol {cleaned!r} must look like STRAT-<FAMILY>-<ASSET>-<NNN>")
    if status not in (TokenStatus.PROVING, TokenStatus.ACTIVE):
        raise ValidationError("a new token starts as proving or active")
    if session.scalars(select(StrategyToken.id).where(StrategyToken.symbol == cleaned)).first():
        raise ValidationError(f"token symbol {cleaned} is taken")
    if agent_id is not None and session.get(TreasuryAgent, agent_id) is None:
        raise NotFound(f"treasury agent {agent_id} does not exist")
    seed_cash = settings.token_seed_cash
    seed_tokens = seed_cash  # seeded at NAV 1.00
    if total_supply < seed_tokens * 2:
        raise InvalidAmount(f"total supply must be at least {seed_tokens * 2} (twice the seed)")
    row = {"symbol": cleaned, "name": (name or cleaned)[:200], "agent_id": agent_id, "status": status,
           "total_supply": total_supply, "circulating_supply": ZERO, "aum": ZERO, "nav_per_token": ONE,
           "peak_nav": ONE, "high_water_mark": ONE, "benchmark_index": ONE, "hwm_benchmark_index": ONE,
           "benchmark_asset": benchmark_asset, "fees_accrued_until": now, "created_at": now,
           "activated_at": now if status is TokenStatus.ACTIVE else None}
    # Two creations of one symbol at once (the import pipeline beside an admin) both passed the
    # check above; the second insert died with a unique violation instead of this message. (A
    # same-key retry that loses gets the winner's stored reply from run_idempotent.)
    if not insert_if_absent(session, _TOKENS, row, ("symbol",)):
        raise ValidationError(f"token symbol {cleaned} is taken")
    token = session.scalars(select(StrategyToken).where(StrategyToken.symbol == cleaned)).one()
    house = house_wallet(session, now)
    writer = LedgerWriter(session, now)
    unissued = unissued_account(session, token, now)
    mint = ensure_account(
        session,
        f"token:{token.id}:mint",
        kind=AccountKind.TOKEN_MINT,
        asset=cleaned,
        token_id=token.id,
        now=now,
    )
    # The whole supply cap is minted into "unissued" once; issuing can never exceed it because
    # the unissued account may not go negative.
    writer.post("token.mint", [Leg(unissued, total_supply), Leg(mint, -total_supply)], token_id=token.id)
    writer.post(
        "token.seed",
        [
            Leg(system_account(session, "platform:seed", now), -seed_cash),
            Leg(pool_account(session, token, now), seed_cash),
            Leg(unissued, -seed_tokens),
            Leg(holding_account(session, house, token, now), seed_tokens),
        ],
        token_id=token.id,
        wallet_id=house.id,
    )
    writer.flush()
    holding = get_holding(session, house, token, now)
    holding.quantity = seed_tokens
    holding.avg_cost_basis = ONE
    token.circulating_supply = seed_tokens
    token.aum = seed_cash
    refresh_nav(token)
    session.add(
        AuditLog(
            at=now,
            actor="system",
            action="token.create",
            subject=cleaned,
            details={"total_supply": format(total_supply, "f"), "agent_id": agent_id},
        )
    )
    return token


def tokenize(
    uow: UnitOfWork,
    *,
    agent_id: int | None,
    symbol: str,
    total_supply: object,
    idempotency_key: str,
    name: str | None = None,
    status: str = "proving",
    benchmark_asset: str | None = None,
) -> TokenCreated:
    """Create a strategy token with a fixed supply cap, seeded at NAV 1.00."""
    supply = parse_tokens(total_supply, field="total supply")
    try:
        token_status = TokenStatus(status)
    except ValueError:
        raise ValidationError("status must be proving or active") from None
    request = {
        "agent": agent_id,
        "symbol": symbol,
        "supply": supply,
        "name": name,
        "status": status,
        "benchmark": benchmark_asset,
    }

    def effect(session: Session) -> dict[str, object]:
        token = tokenize_in(
            session,
            uow.clock.now(),
            agent_id=agent_id,
            symbol=symbol,
            name=name or symbol,
            total_supply=supply,
            status=token_status,
            benchmark_asset=benchmark_asset,
        )
        seed = get_settings().token_seed_cash
        return TokenCreated(
            token.id, token.symbol, token.total_supply, token.nav_per_token, token.status.value, seed, seed
        ).to_dict()

    return run_idempotent(uow, idempotency_key, "token.create", request, effect, TokenCreated.from_dict)


# --- buy and redeem ------------------------------------------------------------------------------


def _check_wallet_may_trade(
    session: Session, wallet: AIWallet, org_status: OrgStatus | None, system: bool
) -> None:
    if wallet.is_house or system:
        return
    if org_status is not OrgStatus.VERIFIED:
        raise OrganisationNotVerified(
            "your organisation is not verified yet; a platform admin must verify it before trading"
        )
    require_current_agreement(session, wallet.organisation_id)  # a new agreement version pauses trading


def _write_trade(
    session: Session,
    token: StrategyToken,
    wallet: AIWallet,
    holding: Position,
    now: datetime,
    *,
    tokens: Decimal,
    cash: Decimal,
) -> None:
    """Store a trade's effect on its rows: ``tokens`` issued (+) or redeemed (-) for ``cash`` paid
    into (+) or out of (-) the pool; the wallet's cash moves the other way."""
    supply = token.circulating_supply + tokens
    aum = token.aum + cash
    nav = round_down(div(aum, supply), NAV_QUANTUM) if supply > 0 else token.nav_per_token
    write_trade_rows(session, holding, wallet, wallet.cash - cash, token, circulating_supply=supply,
                     aum=aum, nav_per_token=nav, now=now)


def _lock_wallet_and_position(
    session: Session, wallet_id: int, token_id: int
) -> tuple[AIWallet, OrgStatus | None, Position]:
    """Lock the wallet (after its token) and read its holding of the token: one statement when
    the wallet is not held yet, the holding read on its own when it is (a rebalance, a batch)."""
    wallet, org_status, row = lock_wallet_with_holding(session, wallet_id, token_id)
    if row is NOT_READ:
        return wallet, org_status, read_position(session, wallet.id, token_id)
    return wallet, org_status, position_from_lock(session, wallet.id, token_id, row)


def buy_in(
    session: Session,
    now: datetime,
    *,
    wallet_id: int,
    symbol: str,
    cash: Decimal,
    idempotency_key: str | None = None,
    system: bool = False,
    writer: LedgerWriter | None = None,
) -> Trade:
    """Buy ``symbol`` with ``cash`` USD at NAV inside the caller's transaction.

    With a caller's ``writer`` the balance updates wait for the caller's ``writer.flush()`` (one
    for several trades); the trade's own checks (cash, supply, holding) have already run.
    """
    token = lock_token(session, symbol)  # lock order: token, then wallet
    wallet, org_status, holding = _lock_wallet_and_position(session, wallet_id, token.id)
    _check_wallet_may_trade(session, wallet, org_status, system)
    if token.status is not TokenStatus.ACTIVE:
        raise TokenNotTradable(f"{token.symbol} is {token.status.value}; only active tokens can be bought")
    if wallet.cash - wallet.cash_reserved < cash:  # cash reserved by open exchange bids is not spendable
        held = wallet.cash_reserved
        reserved = f" free ({fmt_cash(held)} more is reserved by open orders)" if held else ""
        raise InsufficientCash(
            f"cannot buy {fmt_cash(cash)} of {token.symbol}: wallet has "
            f"{fmt_cash(wallet.cash - held)} cash{reserved}"
        )
    own_writer = writer is None
    writer = writer or LedgerWriter(session, now)
    fees = settle_management_fee(session, writer, token, now)
    # tokens_out = cash * supply / aum, rounded down: the buyer never gets more than paid for.
    tokens_out = round_down(div(mul(cash, token.circulating_supply), token.aum), TOKEN_QUANTUM)
    if tokens_out <= 0:
        raise InvalidAmount(f"{fmt_cash(cash)} buys less than one unit of {token.symbol}")
    remaining = token.total_supply - token.circulating_supply
    if tokens_out > remaining:
        if remaining <= 0:
            raise SoldOut(f"{token.symbol} is sold out; tokens can still change hands between holders")
        max_cash = round_down(mul(remaining, nav_of(token)), CASH_QUANTUM)
        raise SoldOut(
            f"only {fmt_qty(remaining)} {token.symbol} remain (about {fmt_cash(max_cash)}); buy less"
        )
    run_checks(session, TradeIntent("buy", token, wallet, cash, tokens_out, system, now))
    if not system and holding.quantity <= 0:  # a new distinct token: the wallet's plan decides
        check_new_token(session, wallet, token)
    dust.check_buy(token.symbol, holding.quantity, tokens_out, nav_of(token))
    # A first purchase (no holding row) almost always also opens the holding's ledger account.
    holding_ref = holding_account(session, wallet, token, now, likely_new=holding.id is None)
    txn = writer.post(
        "buy",
        [
            Leg(wallet_cash_account(session, wallet, now), -cash),
            Leg(pool_account(session, token, now), cash),
            Leg(unissued_account(session, token, now), -tokens_out),
            Leg(holding_ref, tokens_out),
        ],
        idempotency_key=idempotency_key,
        wallet_id=wallet.id,
        token_id=token.id,
        details={"nav": format(nav_of(token), "f")},
    )
    if own_writer:
        writer.flush()
    cost_total = mul(holding.quantity, holding.avg_cost_basis) + cash
    holding.quantity += tokens_out
    holding.avg_cost_basis = round_up(div(cost_total, holding.quantity), NAV_QUANTUM)
    _write_trade(session, token, wallet, holding, now, tokens=tokens_out, cash=cash)
    return Trade(
        "buy",
        wallet.id,
        token.symbol,
        tokens_out,
        cash,
        token.nav_per_token,
        fees,
        wallet.cash,
        holding.quantity,
        holding.avg_cost_basis,
        txn.id,
    )


def redeem_in(
    session: Session,
    now: datetime,
    *,
    wallet_id: int,
    symbol: str,
    quantity: Decimal,
    idempotency_key: str | None = None,
    system: bool = False,
    writer: LedgerWriter | None = None,
) -> Trade:
    """Redeem ``quantity`` tokens at NAV for cash inside the caller's transaction (``writer``: as
    for :func:`buy_in`)."""
    token = lock_token(session, symbol)
    wallet, org_status, holding = _lock_wallet_and_position(session, wallet_id, token.id)
    _check_wallet_may_trade(session, wallet, org_status, system)
    if token.status is TokenStatus.PROVING or token.status is TokenStatus.CANDIDATE:
        raise TokenNotTradable(f"{token.symbol} is {token.status.value}; it has no holders to redeem")
    free = holding.quantity - holding.reserved  # units reserved by open asks are not redeemable
    if free < quantity:
        locked = holding.reserved
        reserved = f" free ({fmt_qty(locked)} more are reserved by open orders)" if locked else ""
        raise InsufficientTokens(
            f"cannot redeem {fmt_qty(quantity)} {token.symbol}: wallet holds {fmt_qty(free)}{reserved}"
        )
    own_writer = writer is None
    writer = writer or LedgerWriter(session, now)
    fees = settle_management_fee(session, writer, token, now)
    nav_before = nav_of(token)
    # cash_out = quantity * aum / supply, rounded down: the pool never pays out more than is due.
    cash_out = round_down(div(mul(quantity, token.aum), token.circulating_supply), CASH_QUANTUM)
    dust.check_redeem(token.symbol, holding.quantity, quantity, nav_before)
    # Redeeming a whole position always clears it, even when it is worth nothing to pay out.
    if cash_out <= 0 and quantity < holding.quantity:
        raise InvalidAmount(
            f"{fmt_qty(quantity)} {token.symbol} is worth less than one cent-millionth; redeem more"
        )
    run_checks(session, TradeIntent("redeem", token, wallet, cash_out, quantity, system, now))
    txn = writer.post(
        "redeem",
        [
            Leg(holding_account(session, wallet, token, now), -quantity),
            Leg(unissued_account(session, token, now), quantity),
            Leg(pool_account(session, token, now), -cash_out),
            Leg(wallet_cash_account(session, wallet, now), cash_out),
        ],
        idempotency_key=idempotency_key,
        wallet_id=wallet.id,
        token_id=token.id,
        details={"nav": format(nav_before, "f")},
    )
    if own_writer:
        writer.flush()
    holding.realized_pnl += cash_out - mul(quantity, holding.avg_cost_basis)
    holding.quantity -= quantity
    if holding.quantity == 0:
        holding.avg_cost_basis = ZERO
    _write_trade(session, token, wallet, holding, now, tokens=-quantity, cash=-cash_out)
    return Trade(
        "redeem",
        wallet.id,
        token.symbol,
        quantity,
        cash_out,
        token.nav_per_token,
        fees,
        wallet.cash,
        holding.quantity,
        holding.avg_cost_basis,
        txn.id,
    )


def buy(uow: UnitOfWork, wallet_id: int, symbol: str, amount: object, *, idempotency_key: str) -> Trade:
    """Buy a token by cash amount (USD) at NAV; tokens out round down."""
    cash = parse_cash(amount)
    clean = normalise_symbol(symbol)

    def effect(session: Session) -> dict[str, object]:
        return buy_in(
            session,
            uow.clock.now(),
            wallet_id=wallet_id,
            symbol=clean,
            cash=cash,
            idempotency_key=idempotency_key,
        ).to_dict()

    return run_idempotent(
        uow,
        idempotency_key,
        "token.buy",
        {"wallet": wallet_id, "symbol": clean, "cash": cash},
        effect,
        Trade.from_dict,
    )


def redeem(uow: UnitOfWork, wallet_id: int, symbol: str, quantity: object, *, idempotency_key: str) -> Trade:
    """Redeem a token quantity at NAV for cash; cash out rounds down."""
    qty = parse_tokens(quantity)
    clean = normalise_symbol(symbol)

    def effect(session: Session) -> dict[str, object]:
        return redeem_in(
            session,
            uow.clock.now(),
            wallet_id=wallet_id,
            symbol=clean,
            quantity=qty,
            idempotency_key=idempotency_key,
        ).to_dict()

    return run_idempotent(
        uow,
        idempotency_key,
        "token.redeem",
        {"wallet": wallet_id, "symbol": clean, "quantity": qty},
        effect,
        Trade.from_dict,
    )


__all__ = ["buy", "buy_in", "parse_amount", "redeem", "redeem_in", "tokenize", "tokenize_in"]
