"""The quality gate a backtest must pass before paper trading (thresholds from core.config).

Passes when ``days >= gate_min_days`` and ``sharpe > gate_min_sharpe`` and
``max_drawdown < gate_max_drawdown`` (defaults 180 days, 1.5, 15 % from the product brief).
Each failed condition yields one human-readable reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.config import Settings, get_settings


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...]


def evaluate_gate(metrics: Mapping[str, Any], settings: Settings | None = None) -> GateResult:
    s = settings or get_settings()
    reasons: list[str] = []
    days = metrics.get("days")
    sharpe = metrics.get("sharpe")
    mdd = metrics.get("max_drawdown")
    if days is None or sharpe is None or mdd is None:
        return GateResult(False, ("no backtest metrics",))
    if days < s.gate_min_days:
        reasons.append(f"backtest covers {days} days, needs at least {s.gate_min_days}")
    if not sharpe > s.gate_min_sharpe:
        reasons.append(f"Sharpe {sharpe:.2f} is not above {s.gate_min_sharpe:.2f}")
    if not mdd < s.gate_max_drawdown:
        reasons.append(f"max drawdown {mdd:.1%} is not below {s.gate_max_drawdown:.1%}")
    return GateResult(not reasons, tuple(reasons))
