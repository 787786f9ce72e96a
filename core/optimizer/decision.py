"""The optimizer's decision: exact weights, expected performance, the equal-weight alternative and
plain-language reasons.

Weights are ``Decimal`` fractions of wallet value quantised down to ``WEIGHT_QUANTUM`` (1e-6), each
in ``[0, max_weight]``, their sum at most 1, and ``cash_weight == 1 - sum(weights)`` exactly.
Expected return and volatility are annualised floats (365-day year); Sharpe is
``(return - risk_free) / volatility`` (``None`` when volatility is zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import pandas as pd

WEIGHT_QUANTUM = Decimal("0.000001")
ONE = Decimal(1)


@dataclass(frozen=True)
class Performance:
    expected_return: float
    volatility: float
    sharpe: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "expected_return": _r(self.expected_return),
            "volatility": _r(self.volatility),
            "sharpe": None if self.sharpe is None else _r(self.sharpe),
        }


@dataclass(frozen=True)
class Alternative:
    """The naive allocation the decision is measured against (capped equal weight)."""

    weights: dict[str, Decimal]
    cash_weight: Decimal
    performance: Performance


@dataclass(frozen=True)
class Decision:
    tier: str
    profile: str
    method: str  # e.g. "max_sharpe", "fallback:equal_weight", "cash"
    weights: dict[str, Decimal]  # held tokens only (weight > 0), symbol -> fraction
    cash_weight: Decimal
    performance: Performance
    equal_weight: Alternative
    reasons: dict[str, str]  # every token seen -> why in, why out, why capped
    summary: str
    note: str | None = None  # fallback / cash explanation
    inputs: dict[str, Any] = field(default_factory=dict)

    def target(self, symbol: str) -> Decimal:
        return self.weights.get(symbol, Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form stored on the ``allocation_snapshots`` row (Decimals as strings)."""
        return {
            "tier": self.tier,
            "profile": self.profile,
            "method": self.method,
            "weights": {k: str(v) for k, v in self.weights.items()},
            "cash_weight": str(self.cash_weight),
            "performance": self.performance.as_dict(),
            "equal_weight": {
                "weights": {k: str(v) for k, v in self.equal_weight.weights.items()},
                "cash_weight": str(self.equal_weight.cash_weight),
                "performance": self.equal_weight.performance.as_dict(),
            },
            "reasons": dict(self.reasons),
            "summary": self.summary,
            "note": self.note,
            "inputs": self.inputs,
        }


CAP_SNAP = Decimal("0.000002")  # two weight quanta: the solvers' agreement is ~1e-6


def quantise_weights(raw: dict[str, float], cap: float, min_weight: float) -> dict[str, Decimal]:
    """Float weights -> exact Decimals: drop dust, round down, enforce cap and sum <= 1."""
    cap_d = Decimal(repr(cap)).quantize(WEIGHT_QUANTUM, rounding=ROUND_FLOOR)
    out: dict[str, Decimal] = {}
    for symbol, weight in raw.items():
        if not math.isfinite(weight) or weight < min_weight or weight <= 0:
            continue
        # Decimal.from_float is the explicit (FloatOperation-safe) conversion; round down so the
        # sum can only shrink, never exceed what the solver returned.
        exact = Decimal.from_float(weight).quantize(WEIGHT_QUANTUM, rounding=ROUND_FLOOR)
        # A binding cap comes back from the interior-point solver a hair below it (0.349999 for
        # 0.35): within the solver's tolerance the weight is the cap, so a person reads "35%".
        if cap_d - CAP_SNAP <= exact:
            exact = cap_d
        if exact > 0:
            out[symbol] = exact
    excess = sum(out.values(), Decimal(0)) - ONE
    if excess > 0:  # solver tolerance: take the excess from the largest weight
        largest = max(out, key=lambda s: (out[s], s))
        out[largest] -= excess
    return out


def performance(
    weights: dict[str, Decimal], mu: pd.Series, cov: pd.DataFrame, risk_free: float
) -> Performance:
    """Expected annualised performance of ``weights`` (cash earns ``risk_free``, no variance)."""
    if not weights:
        return Performance(risk_free, 0.0, None)
    symbols = list(weights)
    w = np.array([float(weights[s]) for s in symbols])
    cash = 1.0 - float(w.sum())
    ret = float(mu.loc[symbols].to_numpy() @ w) + cash * risk_free
    var = float(w @ cov.loc[symbols, symbols].to_numpy() @ w)
    vol = math.sqrt(max(var, 0.0))
    sharpe = (ret - risk_free) / vol if vol > 1e-12 else None
    return Performance(ret, vol, sharpe)


def token_reason(
    symbol: str,
    weight: Decimal,
    cap: Decimal,
    expected_return: float,
    volatility: float,
    risk_free: float,
) -> str:
    """Why an eligible token is in, capped, or out — one short sentence."""
    facts = f"expected return {expected_return:+.1%}/yr, volatility {volatility:.1%}/yr"
    if weight >= cap:
        return f"in at the {cap:.0%} cap per token ({facts}); capped, it would get more"
    if weight > 0:
        return f"in at {weight:.1%} ({facts})"
    if expected_return <= risk_free:
        return f"out: its expected return does not beat cash ({facts})"
    return f"out: its return does not pay for its risk next to the other tokens ({facts})"


def _r(value: float) -> float:
    return round(value, 6) if math.isfinite(value) else 0.0
