"""Snapshots of decisions and atomic rebalance execution inside the caller's transaction.

All trades of one rebalance run in one unit of work: sells (redeems by token quantity) first, then
buys (by cash amount), each followed by its trading cost (``cost_rate`` x notional, rounded up,
posted from the wallet's cash to ``platform:trading_costs``). Any refusal (circuit breaker, a
redemption limit reached in between) rolls the whole rebalance back. Lock order: every token
involved (by id), then the wallet — the ledger's global order (:mod:`core.ledger.locks`) — before
the first trade; what was read before the locks (the wallet's positions, its mode) is read again
under them, and a wallet that acquired a token not locked up front raises
:class:`~core.ledger.locks.ConcurrentChange` (retried at the next cycle) instead of breaking the order.

Free balances: plans spend only the wallet's free cash and sell only its free units; cash and units
reserved by open exchange orders stay with those orders (:mod:`core.wallets.planning`).

Units: USD cash, token quantities, weights as decimal fractions.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.billing.plans import check_ai
from core.errors import TradingHalted
from core.ledger.cash import wallet_cash_account
from core.ledger.fees import nav_from, nav_of
from core.ledger.issuance import buy_in, redeem_in
from core.ledger.locks import (
    TOKEN,
    ConcurrentChange,
    held_tokens,
    holds_token,
    holds_wallet,
    lock_in_order,
    lock_token,
    lock_wallet_and_org,
    may_lock,
)
from core.ledger.postings import LedgerWriter, Leg, system_account
from core.ledger.rows import write_wallet_cash
from core.models import AIWallet, AllocationSnapshot, StrategyToken, TokenHolding, WalletMode
from core.models.wallets_ext import RebalanceExecution
from core.money import CASH_QUANTUM, mul, round_down
from core.optimizer import Decision
from core.risk.circuit import is_halted
from core.risk.redemption import NOW_KEY, peek_capacity
from core.wallets.config import WalletConfig
from core.wallets.planning import PlannedTrade, Position, drift, plan_trades, trade_cost

ZERO = Decimal(0)
_STAT_QUANTUM = Decimal("0.000000000001")


_POSITIONS = (
    select(TokenHolding.quantity, TokenHolding.reserved, StrategyToken.symbol, StrategyToken.aum,
           StrategyToken.circulating_supply, StrategyToken.nav_per_token)
    .join(StrategyToken, StrategyToken.id == TokenHolding.token_id)
    .where(TokenHolding.wallet_id == bindparam("wallet_id"), TokenHolding.quantity > 0)
    .order_by(StrategyToken.id)
)


def positions_of(session: Session, wallet_id: int) -> list[Position]:
    """The wallet's non-empty holdings in token id order, with the units reserved by open asks.

    Columns, not ORM objects (a rebalance cycle reads this for every wallet); ``session.execute``
    autoflushes first, and every trade writes its rows at once, so the values are current."""
    return [Position(r.symbol, r.quantity, nav_from(r.aum, r.circulating_supply, r.nav_per_token),
                     r.reserved) for r in session.execute(_POSITIONS, {"wallet_id": wallet_id})]


def _stat(value: float | None) -> Decimal | None:
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return Decimal.from_float(value).quantize(_STAT_QUANTUM)


def store_snapshot(session: Session, now: datetime, wallet: AIWallet, decision: Decision, *,
                   trigger: str, drift_before: Decimal | None) -> AllocationSnapshot:
    data = decision.as_dict()
    snapshot = AllocationSnapshot(
        wallet_id=wallet.id, created_at=now, mode=wallet.mode.value, trigger=trigger,
        inputs={**data["inputs"], "method": decision.method, "note": decision.note,
                "profile": decision.profile, "tier": decision.tier, "summary": decision.summary},
        weights=data["weights"], cash_weight=decision.cash_weight,
        expected_return=_stat(decision.performance.expected_return),
        expected_volatility=_stat(decision.performance.volatility),
        expected_sharpe=_stat(decision.performance.sharpe),
        equal_weight=data["equal_weight"], reasons=data["reasons"],
        drift_before=drift_before.quantize(_STAT_QUANTUM) if drift_before is not None else None,
        executed=False,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def snapshot_target(snapshot: AllocationSnapshot) -> tuple[dict[str, Decimal], Decimal]:
    weights = {str(k): Decimal(str(v)) for k, v in (snapshot.weights or {}).items()}
    return weights, snapshot.cash_weight


def wallet_drift(session: Session, wallet: AIWallet, target: dict[str, Decimal],
                 target_cash: Decimal) -> Decimal:
    return drift(wallet.cash, positions_of(session, wallet.id), target, target_cash)


def plan_for(session: Session, now: datetime, wallet: AIWallet, target: dict[str, Decimal],
             config: WalletConfig, positions: list[Position] | None = None,
             ) -> tuple[list[PlannedTrade], list[str]]:
    """Plan trades to ``target`` at current NAVs, honouring today's redemption limits and supply,
    with the wallet's free balances only (cash and units reserved by open exchange orders stay put).

    ``positions`` (the wallet's current :func:`positions_of`) saves reading them again."""
    if positions is None:
        positions = positions_of(session, wallet.id)
    symbols = set(target) | {p.symbol for p in positions}
    # Under a rebalance's locks every token is held already (no statement); a suggestion reads them.
    tokens = held_tokens(session, symbols)
    if tokens is None:
        tokens = {t.symbol: t for t in session.scalars(
            select(StrategyToken).where(StrategyToken.symbol.in_(symbols)))}
    live_target = {s: w for s, w in target.items() if s in tokens and tokens[s].status.value ==
                   "active"}
    navs = {s: nav_of(t) for s, t in tokens.items()}
    trades, notes = plan_trades(wallet.cash, positions, live_target, navs,
                                min_trade=config.min_trade, cost_rate=config.cost_rate,
                                cash_reserved=wallet.cash_reserved)
    sells = [t.symbol for t in trades if t.side == "redeem"]
    if sells:
        caps = {s: peek_capacity(session, tokens[s], now.date()) for s in sells}
        if any(caps[t.symbol] < t.cash for t in trades if t.side == "redeem"):
            trades, notes = plan_trades(wallet.cash, positions, live_target, navs,
                                        min_trade=config.min_trade, cost_rate=config.cost_rate,
                                        sell_caps=caps, cash_reserved=wallet.cash_reserved)
    return trades, notes


def lock_for_rebalance(session: Session, wallet_id: int, target: dict[str, Decimal], *,
                       expect_mode: WalletMode | None = None) -> tuple[AIWallet, list[Position]]:
    """Lock every token the rebalance may touch (target and held, by id), then the wallet, and
    return the wallet and its positions read again under the locks.

    Raises :class:`ConcurrentChange` when, between the first read and the locks, the wallet came to
    hold a token that is not locked (locking it now would break the order) or left ``expect_mode``.
    """
    if holds_wallet(session, wallet_id):  # the caller (the cycle) locked tokens and wallet up front
        positions = positions_of(session, wallet_id)  # read once: the wallet cannot change now
        _require_held(session, wallet_id, set(target) | {p.symbol for p in positions})
        wallet = lock_wallet_and_org(session, wallet_id)[0]  # held: from memory
    else:
        held = {p.symbol for p in positions_of(session, wallet_id)}
        needed = set(target) | held
        if not may_lock(session, TOKEN):  # the caller locked up front: all must be there
            _require_held(session, wallet_id, needed)
        locked = lock_in_order(session, tokens=needed, wallets=[wallet_id])
        wallet = locked.wallets.get(wallet_id) or lock_wallet_and_org(session, wallet_id)[0]
        positions = positions_of(session, wallet_id)
        _require_held(session, wallet_id, {p.symbol for p in positions})
    if expect_mode is not None and wallet.mode is not expect_mode:
        raise ConcurrentChange(f"wallet {wallet_id} switched to {wallet.mode.value} before its "
                               "rebalance ran; nothing was traded")
    return wallet, positions


def _require_held(session: Session, wallet_id: int, symbols: set[str]) -> None:
    unlocked = sorted(s for s in symbols if not holds_token(session, s))
    if unlocked:
        raise ConcurrentChange(f"wallet {wallet_id} bought {', '.join(unlocked)} while its rebalance "
                               "was being prepared; nothing was traded, try again")


def execute_in(session: Session, now: datetime, wallet_id: int, snapshot: AllocationSnapshot, *,
               config: WalletConfig, trigger: str, proposal_id: int | None = None,
               drift_before: Decimal | None = None, writer: LedgerWriter | None = None,
               expect_mode: WalletMode | None = None) -> RebalanceExecution:
    """Move ``wallet_id`` to ``snapshot``'s target in the caller's transaction (all or nothing).

    With a caller's ``writer`` (the cycle's bulk path: one writer for a batch of wallets) the
    balances wait for the caller's flush.
    """
    session.info[NOW_KEY] = now
    if is_halted(session):
        raise TradingHalted("trading is halted by the circuit breaker; the rebalance did not run")
    target, target_cash = snapshot_target(snapshot)
    wallet, positions = lock_for_rebalance(session, wallet_id, target, expect_mode=expect_mode)
    check_ai(wallet, "an optimizer rebalance")  # the wallet's plan (read under its lock)
    before = drift_before if drift_before is not None else drift(wallet.cash, positions, target,
                                                                 target_cash)
    value_before = wallet.cash + sum((p.value for p in positions), ZERO)
    trades, notes = plan_for(session, now, wallet, target, config, positions)
    own_writer = writer is None
    writer = writer or LedgerWriter(session, now)
    done, costs = _trade(session, now, wallet, trades, notes, config, writer)
    if costs > 0:  # one posting for the whole rebalance (buys above left room for it)
        writer.post("trade.cost", [Leg(wallet_cash_account(session, wallet, now), -costs),
                                   Leg(system_account(session, "platform:trading_costs", now), costs)],
                    wallet_id=wallet.id, memo=f"trading costs of {len(done)} trade(s)")
        write_wallet_cash(session, wallet, wallet.cash - costs)
    # One balance update (accounts locked in id order, after the tokens and the wallet) for all
    # trades: each trade checked its own cash, supply and holding, so no account can have gone
    # negative in between where the net does not.
    if own_writer:
        writer.flush()
    snapshot.executed = True
    wallet.last_rebalanced_at = now
    execution = RebalanceExecution(
        wallet_id=wallet.id, snapshot_id=snapshot.id, proposal_id=proposal_id, executed_at=now,
        trigger=trigger, drift_before=before.quantize(_STAT_QUANTUM), value_before=value_before
        .quantize(CASH_QUANTUM), trading_costs=costs, trades=done + [{"note": n} for n in notes],
    )
    session.add(execution)
    session.flush()
    return execution


def _trade(session: Session, now: datetime, wallet: AIWallet, trades: list[PlannedTrade],
           notes: list[str], config: WalletConfig, writer: LedgerWriter,
           ) -> tuple[list[dict[str, str]], Decimal]:
    """Run the planned sells, then buys (re-fitted to the cash actually there); returns what was
    done and the trading costs owed."""
    done: list[dict[str, str]] = []
    costs = ZERO
    for trade in trades:
        if trade.side == "redeem":
            result = redeem_in(session, now, wallet_id=wallet.id, symbol=trade.symbol,
                               quantity=trade.quantity, writer=writer)
        else:
            amount = trade.cash
            # Actual sell proceeds can differ from the estimate (fees settle first): re-fit to the
            # free cash (cash reserved by open bids is not spendable).
            free = wallet.cash - wallet.cash_reserved
            while amount > 0 and amount + trade_cost(amount, config.cost_rate) + costs > free:
                amount = round_down(amount - trade_cost(amount, config.cost_rate) - CASH_QUANTUM,
                                    CASH_QUANTUM)
            amount = _fit_supply(session, trade.symbol, amount)
            if amount < max(config.min_trade, CASH_QUANTUM):
                notes.append(f"{trade.symbol}: purchase skipped, not enough cash left after sells")
                continue
            result = buy_in(session, now, wallet_id=wallet.id, symbol=trade.symbol, cash=amount,
                            writer=writer)
        cost = trade_cost(result.cash, config.cost_rate)
        costs += cost
        done.append({**trade.as_dict(), "cash": format(result.cash, "f"),
                     "quantity": format(result.tokens, "f"), "cost": format(cost, "f")})
    return done, costs


def _by_token_id(session: Session, symbols: set[str]) -> list[str]:
    """``symbols`` in token id order (unknown symbols first, as id 0)."""
    ids: dict[str, int] = {symbol: token_id for symbol, token_id in session.execute(
        select(StrategyToken.symbol, StrategyToken.id).where(StrategyToken.symbol.in_(symbols)))}
    return sorted(symbols, key=lambda s: (ids.get(s, 0), s))


def _fit_supply(session: Session, symbol: str, amount: Decimal) -> Decimal:
    """Cap a buy so it cannot exceed the token's unissued supply (a sold-out token is skipped)."""
    token = lock_token(session, symbol)  # already locked above: no second SELECT
    remaining = token.total_supply - token.circulating_supply
    if token.circulating_supply <= 0 or remaining <= 0:
        return ZERO
    # 0.1 % headroom: NAV moves by fee settlement inside buy_in.
    most = round_down(mul(mul(remaining, nav_of(token)), Decimal("0.999")), CASH_QUANTUM)
    return min(amount, most)


__all__ = ["execute_in", "lock_for_rebalance", "plan_for", "positions_of", "store_snapshot",
           "wallet_drift"]
