"""``suggest``: NAV history in, :class:`~core.optimizer.decision.Decision` out. Pure (no database).

Pipeline: clean and filter the NAV table (``inputs.prepare``), apply the tier's token limit
(keep the best stand-alone Sharpe ratios), solve the profile's mean-variance problem
(``solve.solve``, with fallbacks), quantise to exact weights, and explain each token.
Degenerate inputs (empty, one token, flat NAVs, NaNs, duplicates) give a clear decision — this
function does not raise on data.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pandas as pd

from core.optimizer.config import (
    DEFAULT_CONFIG,
    DEFAULT_PROFILE,
    OptimizerConfig,
    RiskProfile,
    Tier,
    max_tokens,
)
from core.optimizer.decision import (
    ONE,
    WEIGHT_QUANTUM,
    Alternative,
    Decision,
    performance,
    quantise_weights,
    token_reason,
)
from core.optimizer.inputs import TokenStats, prepare
from core.optimizer.solve import equal_weight, solve


def suggest(
    prices: pd.DataFrame,
    *,
    tier: Tier = Tier.BASIC,
    profile: RiskProfile | None = None,
    config: OptimizerConfig = DEFAULT_CONFIG,
) -> Decision:
    """The allocation a wallet of ``tier`` should hold given token NAV ``prices``.

    ``prices``: rows = days ascending, columns = token symbols, values = NAV per token (NaN = none).
    """
    notes: list[str] = []
    requested = profile or DEFAULT_PROFILE
    if requested.is_custom() and tier is not Tier.PREMIUM:
        notes.append(
            f"a custom risk profile needs the Premium plan; used {DEFAULT_PROFILE.describe()}"
        )
        requested = DEFAULT_PROFILE
    config = _with_profile_cap(config, requested, notes)

    prepared = prepare(prices, config)
    reasons: dict[str, str] = {s: f"out: {why}" for s, why in prepared.excluded.items()}
    rf = config.risk_free_rate

    selected = list(prepared.symbols)
    limit = max_tokens(tier)
    if limit is not None and len(selected) > limit:
        ranked = sorted(selected, key=lambda s: (-_standalone_sharpe(prepared.stats[s], rf), s))
        selected = ranked[:limit]
        for rank, symbol in enumerate(ranked[limit:], start=limit + 1):
            reasons[symbol] = (
                f"out: the {tier.value.capitalize()} plan holds at most {limit} tokens and it ranks "
                f"#{rank} by stand-alone risk-adjusted return"
            )
        selected.sort(key=prepared.symbols.index)

    result = solve(selected, prepared.mu, prepared.cov, config, requested)
    if result.note:
        notes.append(result.note)
    weights = quantise_weights(result.weights, config.max_weight, config.min_weight)
    cap = Decimal(repr(config.max_weight)).quantize(WEIGHT_QUANTUM, rounding=ROUND_FLOOR)
    for symbol in selected:
        stats = prepared.stats[symbol]
        raw = result.weights.get(symbol, 0.0)
        if symbol not in weights and 0 < raw < config.min_weight:
            reasons[symbol] = (
                f"out: the optimizer gave it only {raw:.2%}, below the {config.min_weight:.1%} "
                "minimum worth trading, so that stays in cash"
            )
        else:
            reasons[symbol] = token_reason(
                symbol, weights.get(symbol, Decimal(0)), cap, stats.expected_return,
                stats.volatility, rf,
            )

    cash = ONE - sum(weights.values(), Decimal(0))
    perf = performance(weights, prepared.mu, prepared.cov, rf)
    ew_weights = quantise_weights(equal_weight(selected, config.max_weight), config.max_weight, 0.0)
    ew = Alternative(
        weights=ew_weights,
        cash_weight=ONE - sum(ew_weights.values(), Decimal(0)),
        performance=performance(ew_weights, prepared.mu, prepared.cov, rf),
    )
    summary = _summary(weights, cash, requested, perf.expected_return, perf.volatility,
                       ew.performance.expected_return)
    inputs = {
        "tokens_seen": [str(c) for c in prices.columns],
        "eligible": prepared.symbols,
        "considered": selected,
        "window": {"start": prepared.window_start, "end": prepared.window_end,
                   "days": prepared.window_days},
        "blend": dict(config.blend),
        "max_weight": config.max_weight,
        "min_weight": config.min_weight,
        "risk_free_rate": rf,
        "covariance": "Ledoit-Wolf shrinkage of daily NAV returns, x365",
        "token_stats": {
            s: {"days": st.days, "expected_return": round(st.expected_return, 6),
                "volatility": round(st.volatility, 6)}
            for s, st in prepared.stats.items()
        },
    }
    return Decision(
        tier=tier.value,
        profile=requested.key(),
        method=result.method,
        weights=weights,
        cash_weight=cash,
        performance=perf,
        equal_weight=ew,
        reasons=reasons,
        summary=summary,
        note="; ".join(notes) or None,
        inputs=inputs,
    )


def _with_profile_cap(config: OptimizerConfig, profile: RiskProfile,
                      notes: list[str]) -> OptimizerConfig:
    """``config`` with the profile's own per-token cap, when it is tighter than the config's
    (a profile never loosens the platform's cap) and the config can take it."""
    cap = profile.max_weight
    if cap is None or cap >= config.max_weight:
        return config
    if cap <= config.min_weight:
        # Only reachable with a deployment's min_weight above the profile bounds' floor.
        notes.append(f"the profile's {cap:.0%} cap per token is not above the {config.min_weight:.1%} "
                     f"minimum weight; used the {config.max_weight:.0%} cap")
        return config
    # Validated copy (model_copy would skip the validators).
    return OptimizerConfig.model_validate({**config.model_dump(), "max_weight": cap})


def _standalone_sharpe(stats: TokenStats, rf: float) -> float:
    """Excess return per unit of volatility; a token with no volatility ranks last."""
    if stats.volatility > 1e-12:
        return (stats.expected_return - rf) / stats.volatility
    return float("-inf")


def _summary(
    weights: dict[str, Decimal],
    cash: Decimal,
    profile: RiskProfile,
    ret: float,
    vol: float,
    ew_ret: float,
) -> str:
    if not weights:
        return "All in cash: no token qualifies for an allocation right now."
    held = ", ".join(f"{s} {w:.1%}" for s, w in sorted(weights.items(), key=lambda kv: -kv[1]))
    label = profile.describe()
    return (
        f"{label[0].upper()}{label[1:]}: {held}; cash {cash:.1%}. Expected {ret:+.1%}/yr at "
        f"{vol:.1%} volatility (equal weight: {ew_ret:+.1%}/yr)."
    )
