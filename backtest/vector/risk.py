"""Issue 15's risk tools in the vector engine: volatility scaling and the strategy drawdown stop.

Each function repeats, with the same float operations in the same order, what
:class:`backtest.runtime.AgentBase` does (``realised_vol``, ``vol_scale``, ``drawdown_gate``), so
the two engines agree exactly. Conventions are stated there and in :class:`core.spec.Sizing`:
volatility is the sample standard deviation of the asset's last ``lookback`` daily simple returns
ending at the decision bar's close, times sqrt(365) (the metrics' annualisation).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Slots of the drawdown state vector.
D_HALTED, D_PEAK, D_AT, D_ARMED = range(4)
COOLDOWN, SIGNAL = 0, 1


@njit(cache=True)
def realised_vol(close: np.ndarray, j: int, t: int, lookback: int) -> float:
    """Annualised sample std of ``close[j]``'s last ``lookback`` daily returns up to bar ``t``."""
    total = 0.0
    for k in range(lookback):
        s = t - lookback + 1 + k
        total += close[j, s] / close[j, s - 1] - 1.0
    mean = total / lookback
    squares = 0.0
    for k in range(lookback):
        s = t - lookback + 1 + k
        r = close[j, s] / close[j, s - 1] - 1.0
        squares += (r - mean) * (r - mean)
    return math.sqrt(squares / (lookback - 1)) * math.sqrt(365.0)


@njit(cache=True)
def vol_scale(close: np.ndarray, j: int, t: int, lookback: int, target: float, max_leverage: float) -> float:
    """``min(max_leverage, target / vol)``; ``max_leverage`` at zero vol, 0 when vol is not finite."""
    vol = realised_vol(close, j, t, lookback)
    if not math.isfinite(vol):
        return 0.0
    if vol == 0.0:
        return max_leverage
    scale = target / vol
    return max_leverage if scale > max_leverage else scale


@njit(cache=True)
def drawdown_gate(
    dd: np.ndarray, equity: float, t: int, threshold: float, reentry: int, days: int,
    wanted: np.ndarray, rebalance_day: bool,
) -> bool:  # fmt: skip
    """AgentBase.drawdown_gate. Zeroes ``wanted`` while halted (on rebalance days); returns True when
    the stop fires on a day that is not a rebalance day (the caller then sells everything now)."""
    if dd[D_HALTED] != 0.0:
        if not rebalance_day:
            return False
        total = 0.0
        for j in range(wanted.shape[0]):
            total += wanted[j]
        if reentry == COOLDOWN:
            back = t - dd[D_AT] >= days
        else:
            if total <= 0.0:
                dd[D_ARMED] = 1.0
            back = dd[D_ARMED] != 0.0 and total > 0.0
        if back:
            dd[D_HALTED] = 0.0
            dd[D_PEAK] = equity
            return False
        wanted[:] = 0.0
        return False
    if equity > dd[D_PEAK]:
        dd[D_PEAK] = equity
    if equity <= dd[D_PEAK] * (1.0 - threshold):
        dd[D_HALTED] = 1.0
        dd[D_AT] = t
        dd[D_ARMED] = 0.0
        if rebalance_day:
            wanted[:] = 0.0
            return False
        return True
    return False


@njit(cache=True)
def banded(wanted: np.ndarray, current: np.ndarray, band: float) -> None:
    """AgentBase.banded: keep a held weight while its new target is within ``band`` of it."""
    for j in range(wanted.shape[0]):
        if wanted[j] > 0.0 and current[j] > 0.0 and abs(wanted[j] - current[j]) <= band * current[j]:
            wanted[j] = current[j]
