"""The bar loop of the vector engine: Backtrader's BackBroker and the agent runtime, in numba.

Every step repeats, in the same order and with the same float operations, what
:class:`backtest.runtime.AgentBase` does on a ``bt.brokers.BackBroker`` with this project's settings
(fractional percentage commission, 5 bp slippage capped at the bar's high/low, ``checksubmit``
off, ``shortcash`` on):

1. *broker*: orders submitted at bar t-1 fill at bar t's open (buys at ``open * (1 + slip)`` but at
   most the high, sells at ``open * (1 - slip)`` but at least the low); a buy that would leave cash
   negative after commission is rejected (Backtrader's ``Margin``); then the cash added during bar
   t-1 lands and the portfolio value is taken at the close.
2. *agent*: idle cash in the cash market grows by ``(1 + apr[t-1] / 365) * mark[t] / mark[t-1]``;
   from the first live bar on, targets are recomputed on rebalance days, stops are checked on
   closes, and orders are sized on today's close (``order_target_percent``), sells first.

Loop state lives in small arrays (numba cannot pass scalars by reference); ``S_*`` name the slots of
the float state vector. Nothing here allocates per bar except the fill log's fixed arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Families and cadences (see backtest.vector.engine for the mapping from the spec).
RULE, PAIR, MOMENTUM, INDEX, LENDING, YIELD = 0, 1, 2, 3, 4, 5
ON_SIGNAL, DAILY, WEEKLY, MONTHLY, QUARTERLY = 0, 1, 2, 3, 4
BUY, SELL, SWITCH = 0, 1, 2

# Slots of the float state vector.
S_CASH, S_VALUE, S_PENDING, S_NADD, S_MARKET, S_LAST_SWITCH, S_REJECTED, S_NFILLS, S_NORDERS = range(9)
S_ADD = 9  # up to 8 cash additions per bar from here on
STATE_SIZE = S_ADD + 8


@njit(cache=True)
def _position_update(
    size0: float, price0: float, size: float, price: float
) -> tuple[float, float, float, float]:
    """Backtrader's Position.update: (new size, new average price, opened, closed)."""
    newsize = size0 + size
    if newsize == 0.0:
        return newsize, 0.0, 0.0, size
    if size0 == 0.0:
        return newsize, price, size, 0.0
    if size0 > 0.0:
        if size > 0.0:
            return newsize, (price0 * size0 + size * price) / newsize, size, 0.0
        if newsize > 0.0:
            return newsize, price0, 0.0, size
        return newsize, price, newsize, -size0
    if size < 0.0:
        return newsize, (price0 * size0 + size * price) / newsize, size, 0.0
    if newsize < 0.0:
        return newsize, price0, 0.0, size
    return newsize, price, newsize, -size0


@njit(cache=True)
def _log_fill(
    fills: np.ndarray, kinds: np.ndarray, st: np.ndarray, t: int, asset: int, side: int,
    size: float, price: float, value: float, comm: float, other: int,
) -> None:  # fmt: skip
    k = int(st[S_NFILLS])
    kinds[k, 0] = t
    kinds[k, 1] = asset
    kinds[k, 2] = side
    kinds[k, 3] = other
    fills[k, 0] = size
    fills[k, 1] = price
    fills[k, 2] = value
    fills[k, 3] = comm
    st[S_NFILLS] = k + 1


@njit(cache=True)
def _execute(
    st: np.ndarray, pos: np.ndarray, j: int, size: float, price: float, t: int, commission: float,
    fills: np.ndarray, kinds: np.ndarray,
) -> None:  # fmt: skip
    """BackBroker._execute of one market order (``pos[j] = (size, average price)``)."""
    size0, price0 = pos[j, 0], pos[j, 1]
    _psize, _pprice, opened, closed = _position_update(size0, price0, size, price)
    pnl = -closed * (price - price0) * 1.0
    cash = st[S_CASH]
    closedcomm = 0.0
    if closed != 0.0:
        closedvalue = -closed * price0
        closecash = closedvalue
        if closedvalue > 0:
            closecash = closecash / 1.0
        cash += closecash + pnl
        closedcomm = abs(closed) * commission * price
        cash -= closedcomm
        cash += 0.0
        st[S_CASH] = cash
    popened = opened
    openedcomm = 0.0
    if opened != 0.0:
        openedvalue = opened * price
        opencash = openedvalue
        if openedvalue > 0:
            opencash = opencash / 1.0
        cash -= opencash
        openedcomm = abs(opened) * commission * price
        cash -= openedcomm
        if cash < 0.0:
            opened = 0.0
            openedcomm = 0.0
        else:
            st[S_CASH] = cash
    execsize = closed + opened
    if execsize != 0.0:
        newsize, newprice, _o, _c = _position_update(size0, price0, execsize, price)
        pos[j, 0] = newsize
        pos[j, 1] = newprice
        if popened == 0.0 or opened != 0.0:  # fully executed: Backtrader notifies Completed
            exprice = (0.0 + execsize * price) / execsize
            side = BUY if execsize > 0 else SELL
            value = abs(execsize) * exprice
            _log_fill(
                fills, kinds, st, t, j, side, abs(execsize), exprice, value, closedcomm + openedcomm, -1
            )
    if popened != 0.0 and opened == 0.0:
        st[S_REJECTED] += 1.0


@njit(cache=True)
def _pop_additions(st: np.ndarray) -> None:
    n = int(st[S_NADD])
    for k in range(n):
        st[S_CASH] = st[S_CASH] + st[S_ADD + k]
    st[S_NADD] = 0.0


@njit(cache=True)
def _add_cash(st: np.ndarray, amount: float) -> None:
    n = int(st[S_NADD])
    st[S_ADD + n] = amount
    st[S_NADD] = n + 1
    st[S_PENDING] = st[S_PENDING] + amount


@njit(cache=True)
def _portfolio_value(st: np.ndarray, pos: np.ndarray, close: np.ndarray, t: int) -> float:
    """BackBroker._get_value: cash plus positions (unlevered, in the positions' insertion order)."""
    unlever = 0.0
    for j in range(pos.shape[0]):
        size = pos[j, 0]
        dvalue = size * close[j, t]
        unrealized = size * (close[j, t] - pos[j, 1]) * 1.0
        if dvalue > 0:
            dvalue -= unrealized
            unlever += dvalue / 1.0
            unlever += unrealized
        else:
            unlever += dvalue
    return st[S_CASH] + unlever


@njit(cache=True)
def _submit(orders: np.ndarray, oasset: np.ndarray, st: np.ndarray, j: int, size: float) -> None:
    n = int(st[S_NORDERS])
    oasset[n] = j
    orders[n] = size
    st[S_NORDERS] = n + 1


@njit(cache=True)
def _order_target_percent(
    st: np.ndarray, pos: np.ndarray, close: np.ndarray, t: int, j: int, weight: float,
    orders: np.ndarray, oasset: np.ndarray,
) -> None:  # fmt: skip
    target = weight * st[S_VALUE]
    if target == 0.0 and pos[j, 0] != 0.0:
        _close(st, pos, j, orders, oasset)
        return
    _pop_additions(st)  # broker.getvalue(datas=[data]) adds pending cash to the broker's cash
    value = pos[j, 0] * close[j, t]
    price = close[j, t]
    if target > value:
        size = 1.0 * ((target - value) / price)
        if size != 0.0:
            _submit(orders, oasset, st, j, size)
    elif target < value:
        size = 1.0 * ((value - target) / price)
        if size != 0.0:
            _submit(orders, oasset, st, j, -size)


@njit(cache=True)
def _close(st: np.ndarray, pos: np.ndarray, j: int, orders: np.ndarray, oasset: np.ndarray) -> None:
    size = pos[j, 0]
    if size > 0:
        _submit(orders, oasset, st, j, -abs(size))
    elif size < 0:
        _submit(orders, oasset, st, j, abs(size))


@njit(cache=True)
def _apply(
    st: np.ndarray, pos: np.ndarray, close: np.ndarray, t: int, wanted: np.ndarray, present: np.ndarray,
    current: np.ndarray, rank: np.ndarray, force: bool, max_exposure: float,
    orders: np.ndarray, oasset: np.ndarray,
) -> None:  # fmt: skip
    """AgentBase.apply: cap the gross, then order every changed asset, sells first."""
    n = wanted.shape[0]
    gross = 0.0
    for j in range(n):
        if present[j]:
            gross += wanted[j]
    if gross > max_exposure:
        for j in range(n):
            if present[j]:
                wanted[j] = wanted[j] * max_exposure / gross
    keys = np.empty(n)
    order = np.empty(n, dtype=np.int64)
    m = 0
    for j in range(n):
        if present[j]:
            keys[j] = wanted[j] - pos[j, 0] * close[j, t] / st[S_VALUE]
            order[m] = j
            m += 1
    for a in range(1, m):  # insertion sort by (key, ticker): stable, as Python's sorted
        x = order[a]
        b = a - 1
        while b >= 0 and (
            keys[order[b]] > keys[x] or (keys[order[b]] == keys[x] and rank[order[b]] > rank[x])
        ):
            order[b + 1] = order[b]
            b -= 1
        order[b + 1] = x
    for a in range(m):
        j = order[a]
        weight = wanted[j]
        if not force and abs(weight - current[j]) < 1e-12:
            continue
        if weight == 0.0:
            if pos[j, 0] != 0.0:
                _close(st, pos, j, orders, oasset)
        else:
            _order_target_percent(st, pos, close, t, j, weight, orders, oasset)
        current[j] = weight
