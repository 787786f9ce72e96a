"""The day loop of the vector engine (see :mod:`backtest.vector.broker` for the broker steps).

:func:`run_bars` is one numba function over one spec's arrays; :class:`Plan` (in
:mod:`backtest.vector.engine`) prepares them. Per bar: fill yesterday's orders, land yesterday's
cash additions, value the portfolio at the close, accrue and mark idle cash, then (from the first
live bar) decide: targets on rebalance days, stops on closes, orders for tomorrow's open.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from backtest.vector.broker import (
    DAILY,
    INDEX,
    LENDING,
    MOMENTUM,
    MONTHLY,
    ON_SIGNAL,
    PAIR,
    QUARTERLY,
    S_CASH,
    S_LAST_SWITCH,
    S_MARKET,
    S_NFILLS,
    S_NORDERS,
    S_PENDING,
    S_REJECTED,
    S_VALUE,
    STATE_SIZE,
    SWITCH,
    WEEKLY,
    YIELD,
    _add_cash,
    _apply,
    _execute,
    _log_fill,
    _pop_additions,
    _portfolio_value,
)
from backtest.vector.risk import banded, drawdown_gate, vol_scale


@njit(cache=True)
def _rebalance_day(cadence: int, first_live: bool, weekday: int, dom: int, month: int) -> bool:
    if cadence in (ON_SIGNAL, DAILY) or first_live:
        return True
    if cadence == WEEKLY:
        return weekday == 0
    if cadence == MONTHLY:
        return dom == 1
    if cadence == QUARTERLY:
        return dom == 1 and (month == 1 or month == 4 or month == 7 or month == 10)
    return False


@njit(cache=True)
def _rule_targets(
    t: int, entry: np.ndarray, exit_: np.ndarray, active: np.ndarray, stopped: np.ndarray,
    fraction: float, equal_weight: bool, wanted: np.ndarray, close: np.ndarray, vol: np.ndarray,
) -> None:  # fmt: skip
    """AgentBase.rule_targets; ``vol`` = (target, lookback, max leverage), target NaN = not targeting."""
    n = entry.shape[0]
    chosen = 0
    for j in range(n):
        e = entry[j, t]
        if stopped[j]:
            stopped[j] = e
            continue
        if not active[j] and e:
            active[j] = True
        elif active[j] and exit_[j, t]:
            active[j] = False
    for j in range(n):
        if active[j]:
            chosen += 1
    if chosen and not math.isnan(vol[0]):
        for j in range(n):
            wanted[j] = vol_scale(close, j, t, int(vol[1]), vol[0], vol[2]) / n if active[j] else 0.0
        return
    each = 0.0
    if chosen:
        each = fraction / (chosen if equal_weight else n)
    for j in range(n):
        wanted[j] = each if (chosen and active[j]) else 0.0


@njit(cache=True)
def _momentum_targets(
    t: int, close: np.ndarray, allowed: np.ndarray, rank: np.ndarray, lookback: int, top_k: int,
    min_return: float, fraction: float, wanted: np.ndarray, vol: np.ndarray,
) -> None:  # fmt: skip
    n = close.shape[0]
    scores = np.empty(n)
    ids = np.empty(n, dtype=np.int64)
    m = 0
    for j in range(n):
        ret = close[j, t] / close[j, t - lookback] - 1.0
        if math.isfinite(ret) and allowed[j, t] and (math.isnan(min_return) or ret > min_return):
            scores[m] = ret
            ids[m] = j
            m += 1
    for a in range(1, m):  # sort by (-return, ticker)
        s, x = scores[a], ids[a]
        b = a - 1
        while b >= 0 and (scores[b] < s or (scores[b] == s and rank[ids[b]] > rank[x])):
            scores[b + 1] = scores[b]
            ids[b + 1] = ids[b]
            b -= 1
        scores[b + 1] = s
        ids[b + 1] = x
    each = fraction / top_k
    for j in range(n):
        wanted[j] = 0.0
    for a in range(min(m, top_k)):
        if math.isnan(vol[0]):
            wanted[ids[a]] = each
        else:
            wanted[ids[a]] = vol_scale(close, ids[a], t, int(vol[1]), vol[0], vol[2]) / top_k


@njit(cache=True)
def _pair_targets(
    t: int, close: np.ndarray, wanted: np.ndarray, fraction: float, den_mode: bool, vol: np.ndarray
) -> None:
    """The pair agent's targets from the numerator's rule state (``wanted[0] > 0`` = on)."""
    on = wanted[0] > 0.0
    targeted = not math.isnan(vol[0])
    held = fraction
    if on and targeted:
        held = vol_scale(close, 0, t, int(vol[1]), vol[0], vol[2])
    wanted[0] = held if on else 0.0
    if den_mode:
        if not on and targeted:
            held = vol_scale(close, 1, t, int(vol[1]), vol[0], vol[2])
        wanted[1] = 0.0 if on else held


@njit(cache=True)
def _rotate(
    st: np.ndarray, t: int, rates: np.ndarray, market_rank: np.ndarray, hysteresis: float, cost: float,
    min_hold: int, fills: np.ndarray, kinds: np.ndarray,
) -> None:  # fmt: skip
    best = 0
    for m in range(1, rates.shape[0]):
        if rates[m, t] > rates[best, t] or (
            rates[m, t] == rates[best, t] and market_rank[m] > market_rank[best]
        ):
            best = m
    market = int(st[S_MARKET])
    if market < 0:
        st[S_MARKET] = best
        return
    if best == market or t - st[S_LAST_SWITCH] < min_hold:
        return
    if rates[best, t] > rates[market, t] + hysteresis:
        held = st[S_CASH] + st[S_PENDING]
        moved = 0.0 if held < 0.0 else held
        _add_cash(st, -moved * cost)
        _log_fill(fills, kinds, st, t, market, SWITCH, moved, 1.0, moved, moved * cost, best)
        st[S_MARKET] = best
        st[S_LAST_SWITCH] = t


@njit(cache=True)
def _check_stops(
    st: np.ndarray, pos: np.ndarray, close: np.ndarray, t: int, peak: np.ndarray, active: np.ndarray,
    stopped: np.ndarray, stops: np.ndarray, wanted: np.ndarray, use_wanted: bool, current: np.ndarray,
    rank: np.ndarray, max_exposure: float, orders: np.ndarray, oasset: np.ndarray,
) -> None:  # fmt: skip
    """AgentBase.check_stops: stop-loss, take-profit (from the average entry price) and trailing
    stop (from the highest close since entry), on today's close. ``stops`` = (sl, tp, ts), NaN = off."""
    n = pos.shape[0]
    for j in range(n):
        if pos[j, 0] <= 0:
            peak[j] = 0.0
            continue
        c = close[j, t]
        if c > peak[j]:
            peak[j] = c
        hit = (
            (not math.isnan(stops[0]) and c <= pos[j, 1] * (1 - stops[0]))
            or (not math.isnan(stops[1]) and c >= pos[j, 1] * (1 + stops[1]))
            or (not math.isnan(stops[2]) and c <= peak[j] * (1 - stops[2]))
        )
        if hit:
            stopped[j] = True
            active[j] = False
            if use_wanted:
                wanted[j] = 0.0
            else:  # AgentBase.apply({asset: 0.0}, force=False), right away
                one = np.zeros(n, dtype=np.bool_)
                one[j] = True
                zero = np.zeros(n)
                _apply(st, pos, close, t, zero, one, current, rank, False, max_exposure, orders, oasset)


@njit(cache=True)
def run_bars(
    family: int, cadence: int, live_from: int, calendar: np.ndarray,
    opens: np.ndarray, highs: np.ndarray, lows: np.ndarray, closes: np.ndarray,
    entry: np.ndarray, exit_: np.ndarray, allowed: np.ndarray, rank: np.ndarray,
    params: np.ndarray, stops: np.ndarray, index_weights: np.ndarray,
    rates: np.ndarray, marks: np.ndarray, market_rank: np.ndarray, initial_market: int,
    cash: float, commission: float, slippage: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Simulate one spec. ``calendar``: (T, 3) weekday, day of month, month.
    ``params``: fraction, equal_weight, max_exposure, lookback, top_k, min_return (NaN = none),
    hysteresis, switching cost, min hold days, pair-denominator mode, vol target (NaN = off),
    vol lookback, max leverage, drawdown stop (NaN = off), re-entry rule (0 cooldown, 1 signal),
    cooldown days, rebalance band (0 = off).
    Returns equity and invested value per bar (NaN before ``live_from``), the fill log
    (floats: size, price, value, commission; ints: bar, asset or market, side, switch target) and
    the state vector (rejected orders, fill count)."""
    n, bars = closes.shape
    fraction, equal_weight, max_exposure = params[0], params[1] != 0.0, params[2]
    lookback, top_k, min_return = int(params[3]), int(params[4]), params[5]
    hysteresis, switch_cost, min_hold, den_mode = params[6], params[7], int(params[8]), params[9] != 0.0
    vol = params[10:13].copy()  # target (NaN = off), lookback, max leverage
    dd_stop, dd_reentry, dd_days, band = params[13], int(params[14]), int(params[15]), params[16]
    dd = np.zeros(4)
    st = np.zeros(STATE_SIZE)
    st[S_CASH] = cash
    st[S_VALUE] = cash
    st[S_MARKET] = initial_market
    st[S_LAST_SWITCH] = -1e9
    pos = np.zeros((n, 2))
    current = np.zeros(n)
    active = np.zeros(n, dtype=np.bool_)
    stopped = np.zeros(n, dtype=np.bool_)
    peak = np.zeros(n)
    wanted = np.zeros(n)
    present = np.ones(n, dtype=np.bool_)
    orders = np.zeros(2 * n + 2)
    oasset = np.zeros(2 * n + 2, dtype=np.int64)
    fills = np.zeros((bars * (n + 1) + 1, 4))
    kinds = np.zeros((bars * (n + 1) + 1, 4), dtype=np.int64)
    equity = np.full(bars, np.nan)
    invested = np.full(bars, np.nan)
    recorded = False
    for t in range(bars):
        for k in range(int(st[S_NORDERS])):  # broker: yesterday's orders at today's open
            j, size = oasset[k], orders[k]
            if size > 0:
                price = opens[j, t] * (1 + slippage)
                if not price <= highs[j, t]:
                    price = highs[j, t]
            else:
                price = opens[j, t] * (1 - slippage)
                if not price >= lows[j, t]:
                    price = lows[j, t]
            _execute(st, pos, j, size, price, t, commission, fills, kinds)
        st[S_NORDERS] = 0.0
        _pop_additions(st)
        st[S_VALUE] = _portfolio_value(st, pos, closes, t)
        st[S_PENDING] = 0.0  # agent: today's decision
        market = int(st[S_MARKET])
        if market >= 0 and t > 0:
            held = 0.0 if st[S_CASH] < 0.0 else st[S_CASH]
            growth = (1.0 + rates[market, t - 1] / 365.0) * (marks[market, t] / marks[market, t - 1])
            _add_cash(st, held * (growth - 1.0))
        if t < live_from:
            continue
        now = st[S_VALUE] + st[S_PENDING]
        if _rebalance_day(cadence, not recorded, calendar[t, 0], calendar[t, 1], calendar[t, 2]):
            if family == YIELD:
                _rotate(st, t, rates, market_rank, hysteresis, switch_cost, min_hold, fills, kinds)
            elif family == MOMENTUM:
                _momentum_targets(
                    t, closes, allowed, rank, lookback, top_k, min_return, fraction, wanted, vol
                )
            elif family == INDEX:
                wanted[:] = index_weights
            elif family != LENDING:
                _rule_targets(t, entry, exit_, active, stopped, fraction, equal_weight, wanted, closes, vol)
                if family == PAIR:
                    _pair_targets(t, closes, wanted, fraction, den_mode, vol)
            _check_stops(st, pos, closes, t, peak, active, stopped, stops, wanted, True, current, rank,
                         max_exposure, orders, oasset)  # fmt: skip
            if not math.isnan(dd_stop):
                drawdown_gate(dd, now, t, dd_stop, dd_reentry, dd_days, wanted, True)
            if band > 0.0:
                banded(wanted, current, band)
            periodic = cadence != ON_SIGNAL and (family in (INDEX, MOMENTUM))
            if n:
                _apply(
                    st, pos, closes, t, wanted, present, current, rank, periodic, max_exposure, orders, oasset
                )
        else:
            _check_stops(st, pos, closes, t, peak, active, stopped, stops, wanted, False, current, rank,
                         max_exposure, orders, oasset)  # fmt: skip
            if not math.isnan(dd_stop) and drawdown_gate(
                dd, now, t, dd_stop, dd_reentry, dd_days, wanted, False
            ):
                zero = np.zeros(n)  # AgentBase.apply({every asset: 0.0}, force=False), right away
                _apply(st, pos, closes, t, zero, present, current, rank, False, max_exposure, orders, oasset)
        recorded = True
        equity[t] = st[S_VALUE] + st[S_PENDING]
        value = 0.0
        for j in range(n):
            value += abs(pos[j, 0]) * closes[j, t]
        if int(st[S_MARKET]) >= 0 and (family in (LENDING, YIELD)):
            held = st[S_CASH] + st[S_PENDING]
            value += 0.0 if held < 0.0 else held
        invested[t] = value
    count = int(st[S_NFILLS])
    return equity, invested, fills[:count], kinds[:count], st


__all__ = ["S_REJECTED", "run_bars"]
