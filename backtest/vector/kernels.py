"""Numba kernels for the indicators, computed with exactly Backtrader's arithmetic.

Backtrader (``runonce=False``) computes every indicator bar by bar; to agree with it to the last bit
these kernels repeat its operations in the same order:

* windowed sums are ``math.fsum`` (exactly rounded): :func:`rolling_fsum` keeps the exact running
  sum as Shewchuk partials (adding the new value, subtracting the one leaving the window) and
  rounds it exactly as CPython's ``fsum`` does, so it returns the same double;
* ``pow`` goes through libm's ``pow`` (``math.pow`` with an exponent passed in at run time, so the
  compiler cannot turn ``x ** 0.5`` into ``sqrt``, which differs in the last bit);
* exponential smoothing is seeded with the window average and then runs ``prev * (1 - a) + x * a``.

Arrays are float64 of the bar calendar's length; values before an indicator's first complete
window are NaN (Backtrader's lines hold NaN there too). ``first`` is the 0-based index of a source
array's first valid value.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NAN = math.nan
_PARTIALS = 128


@njit(cache=True)
def _grow(partials: np.ndarray, n: int, x: float) -> int:
    """Add ``x`` exactly to the non-overlapping expansion ``partials[:n]``; returns the new length."""
    i = 0
    for j in range(n):
        y = partials[j]
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        yr = hi - x
        lo = y - yr
        if lo != 0.0:
            partials[i] = lo
            i += 1
        x = hi
    if x != 0.0:
        partials[i] = x
        i += 1
    return i


@njit(cache=True)
def _round(partials: np.ndarray, n: int) -> float:
    """The correctly rounded value of the expansion (CPython ``math.fsum``'s final step)."""
    if n == 0:
        return 0.0
    n -= 1
    hi = partials[n]
    lo = 0.0
    while n > 0:
        x = hi
        n -= 1
        y = partials[n]
        hi = x + y
        yr = hi - x
        lo = y - yr
        if lo != 0.0:
            break
    if n > 0 and ((lo < 0.0 and partials[n - 1] < 0.0) or (lo > 0.0 and partials[n - 1] > 0.0)):
        y = lo * 2.0
        x = hi + y
        yr = x - hi
        if y == yr:
            hi = x
    return hi


@njit(cache=True)
def rolling_fsum(src: np.ndarray, first: int, period: int) -> np.ndarray:
    """``fsum(src[t - period + 1 : t + 1])`` for every t with a full valid window, else NaN."""
    out = np.full(len(src), NAN)
    partials = np.zeros(_PARTIALS)
    n = 0
    for t in range(first, len(src)):
        n = _grow(partials, n, src[t])
        if t - period >= first:
            n = _grow(partials, n, -src[t - period])
        if t >= first + period - 1:
            out[t] = _round(partials, n)
    return out


@njit(cache=True)
def fsum_window(src: np.ndarray, end: int, period: int) -> float:
    """``fsum(src[end - period + 1 : end + 1])`` (one window)."""
    partials = np.zeros(_PARTIALS)
    n = 0
    for t in range(end - period + 1, end + 1):
        n = _grow(partials, n, src[t])
    return _round(partials, n)


@njit(cache=True)
def sma(src: np.ndarray, first: int, period: int) -> np.ndarray:
    total = rolling_fsum(src, first, period)
    return total / period


@njit(cache=True)
def smoothing(src: np.ndarray, first: int, period: int, alpha: float) -> np.ndarray:
    """Backtrader's ExponentialSmoothing: window average seed, then ``prev*(1-a) + x*a``."""
    out = np.full(len(src), NAN)
    seed = first + period - 1
    if seed >= len(src):
        return out
    alpha1 = 1.0 - alpha
    prev = fsum_window(src, seed, period) / period
    out[seed] = prev
    for t in range(seed + 1, len(src)):
        prev = prev * alpha1 + src[t] * alpha
        out[t] = prev
    return out


@njit(cache=True)
def ema(src: np.ndarray, first: int, period: int) -> np.ndarray:
    return smoothing(src, first, period, 2.0 / (1.0 + period))


@njit(cache=True)
def smma(src: np.ndarray, first: int, period: int) -> np.ndarray:
    return smoothing(src, first, period, 1.0 / period)


@njit(cache=True)
def up_down(src: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """UpDay / DownDay: ``max([x - x(-1), 0.0])`` and ``max([x(-1) - x, 0.0])`` (Python max)."""
    up = np.full(len(src), NAN)
    down = np.full(len(src), NAN)
    for t in range(first + 1, len(src)):
        a = src[t] - src[t - 1]
        up[t] = 0.0 if a < 0.0 else a
        b = src[t - 1] - src[t]
        down[t] = 0.0 if b < 0.0 else b
    return up, down


@njit(cache=True)
def rsi(src: np.ndarray, first: int, period: int) -> np.ndarray:
    """RSI with Wilder smoothing and ``safediv`` (x/0 -> RS inf, 0/0 -> RS 1, i.e. RSI 50)."""
    up, down = up_down(src, first)
    maup = smma(up, first + 1, period)
    madown = smma(down, first + 1, period)
    out = np.full(len(src), NAN)
    for t in range(first + period, len(src)):
        b = madown[t]
        a = maup[t]
        rs = (1.0 if a == 0.0 else math.inf) if b == 0.0 else a / b
        out[t] = 100.0 - 100.0 / (1.0 + rs)
    return out


@njit(cache=True)
def bollinger(
    src: np.ndarray, first: int, period: int, devfactor: float, two: float, half: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mid, top, bot): SMA +- devfactor * pow(abs(SMA(pow(x, 2)) - pow(SMA(x), 2)), 0.5).

    ``two`` and ``half`` are 2.0 and 0.5 passed in at run time so libm ``pow`` is called as in CPython.
    """
    mid = sma(src, first, period)
    squares = np.full(len(src), NAN)
    for t in range(first, len(src)):
        squares[t] = math.pow(src[t], two)
    meansq = sma(squares, first, period)
    top = np.full(len(src), NAN)
    bot = np.full(len(src), NAN)
    for t in range(first + period - 1, len(src)):
        dev = devfactor * math.pow(abs(meansq[t] - math.pow(mid[t], two)), half)
        top[t] = mid[t] + dev
        bot[t] = mid[t] - dev
    return mid, top, bot


@njit(cache=True)
def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """``max([high, close(-1)]) - min([low, close(-1)])`` from the second bar."""
    out = np.full(len(close), NAN)
    for t in range(1, len(close)):
        prev = close[t - 1]
        th = prev if prev > high[t] else high[t]
        tl = prev if prev < low[t] else low[t]
        out[t] = th - tl
    return out


@njit(cache=True)
def extreme_before(src: np.ndarray, first: int, period: int, highest: bool) -> np.ndarray:
    """Max (or min) of the ``period`` values before each bar: Highest/Lowest of ``src(-1)``."""
    out = np.full(len(src), NAN)
    for t in range(first + period, len(src)):
        best = src[t - period]
        for k in range(t - period + 1, t):
            v = src[k]
            if (highest and v > best) or (not highest and v < best):
                best = v
        out[t] = best
    return out


@njit(cache=True)
def change(src: np.ndarray, first: int, period: int, ratio: bool) -> np.ndarray:
    """ROC ``(x - x(-n)) / x(-n)`` or Momentum ``x - x(-n)``."""
    out = np.full(len(src), NAN)
    for t in range(first + period, len(src)):
        past = src[t - period]
        diff = src[t] - past
        out[t] = diff / past if ratio else diff
    return out
