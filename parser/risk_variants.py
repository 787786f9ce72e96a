"""Risk-managed versions of a parsed market strategy (issue 15), beside the variants as written.

Most texts describe a strategy that is fully in or fully out with no risk control. For the families
that can be sized by volatility (:data:`core.spec.VOL_TARGET_FAMILIES`), every variant as written
also gets risk-managed versions: volatility targeting (:data:`TARGET_VOLS` x :data:`LOOKBACKS`),
with and without a 10 % drawdown stop (30-day cooldown), idle cash in the T-bill leg
(``tbill:USD``). Each is a trial like any other — the deflated Sharpe counts it — and they are
capped by the same ``limit`` as the variants as written (evenly spaced when there are more).

A text that already states these tools is risk-managed as written: its own target volatility and
lookback vary by :mod:`parser.variants` when the text leaves them open, and it gets no second set.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.spec import TBILL_MARKET, VOL_TARGET_FAMILIES, SizingMethod, StrategySpec, load_spec

#: Label prefix of a risk-managed variant (the screen groups trials by it).
PREFIX = "risk-managed"
TARGET_VOLS = (0.10, 0.15, 0.20)
LOOKBACKS = (30, 60)
DRAWDOWN_STOPS: tuple[float | None, ...] = (None, 0.10)
COOLDOWN_DAYS = 30


def uses_risk_tools(spec: StrategySpec) -> bool:
    """Whether a spec already uses issue 15's tools (volatility targeting or a drawdown stop)."""
    return spec.sizing.method is SizingMethod.VOLATILITY_TARGET or spec.risk.max_drawdown_stop is not None


def eligible(spec: StrategySpec) -> bool:
    return spec.backtestable and spec.family in VOL_TARGET_FAMILIES and not uses_risk_tools(spec)


def is_risk_managed(label: str) -> bool:
    return label.startswith(PREFIX)


def risk_managed_versions(
    spec: StrategySpec, written: Sequence[tuple[StrategySpec, str]], limit: int
) -> list[tuple[StrategySpec, str, dict[str, Any]]]:
    """(spec, label, params) of the risk-managed versions of the variants as written (see module)."""
    if not eligible(spec):
        return []
    combos = list(itertools.product(range(len(written)), TARGET_VOLS, LOOKBACKS, DRAWDOWN_STOPS))
    if len(combos) > limit:
        picks = np.unique(np.linspace(0, len(combos) - 1, limit).round().astype(int))
        combos = [combos[i] for i in picks]
    out = []
    for index, target, lookback, stop in combos:
        base, label = written[index]
        data = base.model_dump(mode="json")
        data["sizing"] = {
            "method": "volatility_target",
            "target_vol": target,
            "lookback_days": lookback,
            "max_exposure": base.sizing.max_exposure,
        }
        data["idle_cash_market"] = TBILL_MARKET
        tools = f"target_vol {target:g}, vol lookback {lookback}"
        if stop is not None:
            data["risk"] = {**data["risk"], "max_drawdown_stop": stop,
                            "reentry": {"rule": "cooldown", "days": COOLDOWN_DAYS}}  # fmt: skip
            tools += f", drawdown stop {stop:g}"
        full = f"{PREFIX} ({tools}, T-bill leg): {label}"
        data["name"] = f"{spec.name[:60]} [{full}]"[:120]
        params = {"target_vol": target, "vol_lookback": lookback, "drawdown_stop": stop, "variant": label}
        out.append((load_spec(data), full[:300], params))
    return out
