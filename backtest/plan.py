"""What a spec's agent trades, how often it decides and what it needs: one answer for both engines.

The code generator (:mod:`backtest.codegen`) renders these answers into the TreasuryAgent's class
attributes; the vector screen (:mod:`backtest.vector`) reads them directly. Keeping them here means
the two engines cannot drift apart on *what* a spec means, only (and testably) on *how* they run it.
"""

from __future__ import annotations

from core.spec import TBILL_MARKET, Family, PairMode, Rebalance, SizingMethod, StrategySpec, parse_rule

#: Days per year of the volatility annualisation: the metrics' convention (crypto trades every day).
VOL_DAYS_PER_YEAR = 365.0

LENDING_FAMILIES = (Family.LENDING, Family.YIELD_ROTATION)


def traded_assets(spec: StrategySpec) -> tuple[str, ...]:
    """Assets the agent holds positions in (none for lending families: they hold cash in a market)."""
    if spec.family is Family.PAIR_RATIO and spec.pair is not None:
        legs = [spec.pair.numerator]
        if spec.pair.when_off is PairMode.DENOMINATOR:
            legs.append(spec.pair.denominator)
        return tuple(legs)
    if spec.family is Family.INDEX and spec.index is not None:
        return tuple(sorted(spec.index.weights))
    if spec.family in LENDING_FAMILIES:
        return ()
    return tuple(spec.universe.assets)


def cadence(spec: StrategySpec) -> str:
    """Rebalance cadence; ``on_signal`` index and momentum specs rebalance monthly / weekly."""
    if spec.rebalance is Rebalance.ON_SIGNAL and spec.family is Family.INDEX:
        return Rebalance.MONTHLY.value
    if spec.rebalance is Rebalance.ON_SIGNAL and spec.family is Family.MOMENTUM:
        return Rebalance.WEEKLY.value
    return spec.rebalance.value


def cash_market(spec: StrategySpec) -> str | None:
    """Where uninvested cash sits from the first bar (yield rotation chooses on its first live bar)."""
    if spec.family is Family.YIELD_ROTATION:
        return None
    if spec.family is Family.LENDING:
        return spec.idle_cash_market or spec.universe.lending_markets[0]
    return spec.idle_cash_market


def warmup_bars(spec: StrategySpec) -> int:
    """Bars of history needed before the first decision (a conservative bound on every indicator)."""
    rules = [parse_rule(r).lookback for r in (spec.entry_rule, spec.exit_rule) if r]
    extra = spec.momentum.lookback_days + 1 if spec.family is Family.MOMENTUM and spec.momentum else 0
    vol = spec.sizing.lookback_days if vol_target(spec) is not None else 0  # n returns need n + 1 closes
    return max([1, extra, vol, *rules])


def vol_target(spec: StrategySpec) -> float | None:
    """The annual volatility each held asset is sized to, or None (not volatility targeting)."""
    if spec.sizing.method is SizingMethod.VOLATILITY_TARGET:
        return spec.sizing.target_vol
    return None


def risk_tools(spec: StrategySpec) -> list[str]:
    """Which of issue 15's tools a spec uses: volatility_target, drawdown_stop, tbill_leg."""
    tools = []
    if vol_target(spec) is not None:
        tools.append("volatility_target")
    if spec.risk.max_drawdown_stop is not None:
        tools.append("drawdown_stop")
    if spec.idle_cash_market == TBILL_MARKET:
        tools.append("tbill_leg")
    return tools


def drawdown_stop(spec: StrategySpec) -> tuple[float, str, int] | None:
    """(threshold, re-entry rule, cooldown days) of the strategy drawdown stop, or None."""
    r = spec.risk
    if r.max_drawdown_stop is None or r.reentry is None:
        return None
    return r.max_drawdown_stop, r.reentry.rule.value, r.reentry.days


def equal_weight(spec: StrategySpec) -> bool:
    return spec.sizing.method is SizingMethod.EQUAL_WEIGHT


def needed_assets(spec: StrategySpec) -> list[str]:
    """Price series a spec reads (traded and signal assets, rule references)."""
    if spec.family in LENDING_FAMILIES:
        return []
    names = set(spec.universe.assets) | set(spec.universe.signal_assets)
    if spec.index is not None and spec.family is Family.INDEX:
        names |= set(spec.index.weights)
    if spec.pair is not None and spec.family is Family.PAIR_RATIO:
        names |= {spec.pair.numerator, spec.pair.denominator}
    for rule in (spec.entry_rule, spec.exit_rule):
        if rule:
            names |= parse_rule(rule).assets
    return sorted(names)


def needed_markets(spec: StrategySpec) -> list[str]:
    """Lending markets a spec reads (the first one of a lending family is its clock)."""
    markets: list[str] = []
    if spec.family is Family.YIELD_ROTATION and spec.yield_rotation is not None:
        markets += spec.yield_rotation.markets
    if spec.family is Family.LENDING:
        markets.append(spec.idle_cash_market or spec.universe.lending_markets[0])
    elif spec.idle_cash_market:
        markets.append(spec.idle_cash_market)
    return list(dict.fromkeys(markets))


def largest_target(spec: StrategySpec) -> float:
    """The largest total weight the spec can ask for (before the exposure cap)."""
    if spec.family in LENDING_FAMILIES:
        return 0.0
    if spec.family is Family.INDEX and spec.index is not None:
        return float(sum(spec.index.weights.values()))
    return float(spec.sizing.fraction)
