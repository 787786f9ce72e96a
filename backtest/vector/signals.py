"""Rule trees (:mod:`core.spec.rules`) evaluated on whole arrays, with Backtrader's exact values.

Every numeric node becomes one float64 array over the bar calendar plus the index of its first valid
value (Backtrader's minimum period minus one); conditions become boolean arrays, read at this bar
(``[0]``) and the previous one (``[-1]``) exactly as the generated agent reads its lines. Results are
cached per (node, traded asset), so the many variants of one screen share their indicators.

A division whose denominator is exactly zero on any bar where it is defined is refused with
:class:`~backtest.data.market.DataError` (Backtrader raises ``ZeroDivisionError`` there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from backtest.data.market import DataError
from backtest.vector import kernels
from core.spec.rules import Arith, BoolOp, Compare, Cross, Indicator, Neg, Node, Not, Num, Ratio, Series

Line = tuple[np.ndarray, int]  # values, index of the first valid value


@dataclass
class Evaluator:
    """Evaluates rule nodes on the arrays of a market window (``fields[asset][field]``)."""

    fields: Mapping[str, Mapping[str, np.ndarray]]
    cache: dict[tuple[Node, str | None], Line] = field(default_factory=dict)

    @property
    def bars(self) -> int:
        return len(next(iter(next(iter(self.fields.values())).values())))

    # ---- numbers ---------------------------------------------------------------------------
    def line(self, node: Node, asset: str | None) -> Line:
        key = (node, asset)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._compute(node, asset)
        return found

    def _compute(self, node: Node, asset: str | None) -> Line:
        if isinstance(node, Num):
            return np.full(self.bars, node.value), 0
        if isinstance(node, Series):
            return self._field(node.asset or asset, node.field), 0
        if isinstance(node, Ratio):
            return self._field(node.numerator, "close") / self._field(node.denominator, "close"), 0
        if isinstance(node, Neg):
            values, first = self.line(node.operand, asset)
            return -1.0 * values, first
        if isinstance(node, Arith):
            return self._arith(node, asset)
        if isinstance(node, Indicator):
            return self._indicator(node, asset)
        raise DataError(f"not a number in a rule: {node!r}")  # pragma: no cover - the tree is closed

    def _field(self, asset: str | None, name: str) -> np.ndarray:
        if asset is None or asset not in self.fields:
            raise DataError(f"no price data for {asset} in this window")
        return self.fields[asset][name]

    def _arith(self, node: Arith, asset: str | None) -> Line:
        a, fa = self.line(node.left, asset)
        b, fb = self.line(node.right, asset)
        first = max(fa, fb)
        if node.op == "+":
            return a + b, first
        if node.op == "-":
            return a - b, first
        if node.op == "*":
            return a * b, first
        if np.any(b[first:] == 0.0):
            raise DataError("a rule divides by zero on this data")
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b, first

    def _indicator(self, node: Indicator, asset: str | None) -> Line:
        p = [int(v) for v in node.params]
        if node.name == "atr":
            data = node.asset or asset
            tr = kernels.true_range(
                self._field(data, "high"), self._field(data, "low"), self._field(data, "close")
            )
            return kernels.smma(tr, 1, p[0]), p[0]
        assert node.source is not None
        src, first = self.line(node.source, asset)
        name = node.name
        if name == "sma":
            return kernels.sma(src, first, p[0]), first + p[0] - 1
        if name == "ema":
            return kernels.ema(src, first, p[0]), first + p[0] - 1
        if name == "rsi":
            return kernels.rsi(src, first, p[0]), first + p[0]
        if name in ("highest", "lowest"):
            return kernels.extreme_before(src, first, p[0], name == "highest"), first + p[0]
        if name in ("roc", "momentum"):
            if name == "roc" and np.any(src[first : len(src) - p[0]] == 0.0):
                raise DataError("a rule divides by zero on this data")
            return kernels.change(src, first, p[0], name == "roc"), first + p[0]
        if name.startswith("macd"):
            return self._macd(name, src, first, p)
        if name.startswith("bb_"):
            k = float(node.params[1]) if len(node.params) > 1 else 2.0
            mid, top, bot = kernels.bollinger(src, first, p[0], k, 2.0, 0.5)
            values = {"bb_mid": mid, "bb_upper": top, "bb_lower": bot}[name]
            return values, first + p[0] - 1
        raise DataError(f"no indicator {name}")  # pragma: no cover - the tree is closed

    @staticmethod
    def _macd(name: str, src: np.ndarray, first: int, p: list[int]) -> Line:
        fast = kernels.ema(src, first, p[0])
        slow = kernels.ema(src, first, p[1])
        macd = fast - slow
        macd_first = first + max(p[0], p[1]) - 1
        if name == "macd":
            return macd, macd_first
        signal = kernels.ema(macd, macd_first, p[2])
        signal_first = macd_first + p[2] - 1
        if name == "macd_signal":
            return signal, signal_first
        return macd - signal, signal_first

    # ---- conditions ------------------------------------------------------------------------
    def condition(self, node: Node, asset: str | None) -> np.ndarray:
        """Boolean array: the rule's value on every bar (meaningful from the warm-up on)."""
        if isinstance(node, Compare):
            return _compare(node.op, self._now(node.left, asset), self._now(node.right, asset))
        if isinstance(node, Cross):
            a0, b0 = self._now(node.left, asset), self._now(node.right, asset)
            a1, b1 = _previous(a0), _previous(b0)
            if node.direction == "above":
                return (a1 <= b1) & (a0 > b0)
            return (a1 >= b1) & (a0 < b0)
        if isinstance(node, Not):
            return ~self.condition(node.operand, asset)
        if isinstance(node, BoolOp):
            parts = [self.condition(v, asset) for v in node.values]
            out = parts[0].copy()
            for part in parts[1:]:
                out = (out & part) if node.op == "and" else (out | part)
            return out
        raise DataError(f"not a condition: {node!r}")  # pragma: no cover - the tree is closed

    def _now(self, node: Node, asset: str | None) -> np.ndarray:
        return self.line(node, asset)[0]


def _previous(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[0] = np.nan
    out[1:] = values[:-1]
    return out


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b
