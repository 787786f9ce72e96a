"""Generated strategy specs for engine-parity tests: every backtestable family, random parameters.

:func:`spec_for` draws one spec from a ``Draw`` (a callable choosing among options), so the same
generator serves a seeded :class:`random.Random` (the deterministic parity sample) and Hypothesis
(``st.data().draw``). Specs stay inside what the data has (BTC, ETH, LINK, SOL; USDC markets).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Draw = Callable[[Sequence[T]], T]

FAMILIES = ("ma_crossover", "mean_reversion", "breakout", "pair_ratio", "momentum", "index", "lending",
            "yield_rotation")  # fmt: skip
ASSETS = ("BTC", "ETH", "LINK", "SOL")
MARKETS = ("compound:USDC", "aave_v2:USDC", "aave_v1:USDC")


def _window(draw: Draw[Any]) -> int:
    return int(draw((2, 3, 5, 8, 10, 14, 20, 30, 50, 100)))


def numeric(draw: Draw[Any], depth: int = 0) -> str:
    """A numeric rule expression over the traded asset (and sometimes another asset)."""
    options = ["close", "sma", "ema", "rsi", "bb", "highest", "lowest", "roc", "momentum", "atr", "arith"]
    kind = draw(options if depth < 2 else options[:-1])
    n = _window(draw)
    if kind == "close":
        return str(draw(("close", "open", "high", "low", 'close("ETH")')))
    if kind in ("sma", "ema"):
        return f"{kind}({numeric(draw, depth + 1) if depth < 1 and draw((0, 1)) else 'close'}, {n})"
    if kind == "rsi":
        return f"rsi(close, {max(n, 2)})"
    if kind == "bb":
        band = draw(("bb_upper", "bb_lower", "bb_mid"))
        return (
            f"{band}(close, {max(n, 2)}, {draw((1.5, 2, 2.5))})"
            if band != "bb_mid"
            else f"bb_mid(close, {max(n, 2)})"
        )
    if kind in ("highest", "lowest"):
        return f"{kind}({draw(('high', 'low', 'close'))}, {n})"
    if kind in ("roc", "momentum"):
        return f"{kind}(close, {n})"
    if kind == "atr":
        return f"atr({n})"
    return f"({numeric(draw, depth + 1)} {draw(('+', '-', '*'))} {numeric(draw, depth + 1)})"


def condition(draw: Draw[Any]) -> str:
    shape = draw(("compare", "compare", "cross", "and", "or", "not", "rsi"))
    if shape == "compare":
        return f"{numeric(draw)} {draw(('<', '<=', '>', '>='))} {numeric(draw)}"
    if shape == "rsi":
        return f"rsi(close, {draw((7, 14, 21))}) {draw(('<', '>'))} {draw((25, 30, 50, 70, 75))}"
    if shape == "cross":
        return f"{draw(('crosses_above', 'crosses_below'))}({numeric(draw)}, {numeric(draw)})"
    if shape == "not":
        return f"not ({numeric(draw)} > {numeric(draw)})"
    return f"{numeric(draw)} > {numeric(draw)} {shape} {numeric(draw)} < {numeric(draw)}"


def _risk(draw: Draw[Any]) -> dict[str, float]:
    risk: dict[str, float] = {}
    for name, values in (("stop_loss", (0.03, 0.08, 0.15)), ("take_profit", (0.05, 0.2, 0.5)),
                         ("trailing_stop", (0.05, 0.1, 0.2))):  # fmt: skip
        if draw((0, 0, 1)):
            risk[name] = draw(values)
    return risk


def _sizing(draw: Draw[Any]) -> dict[str, Any]:
    return {
        "method": draw(("fixed_fraction", "equal_weight")),
        "fraction": draw((0.5, 0.9, 0.95, 1.0)),
        "max_exposure": draw((0.97, 0.97, 0.9, 1.0)),
    }


def spec_for(draw: Draw[Any], index: int, family: str | None = None) -> dict[str, Any]:
    """One spec of ``family`` (drawn when None); ``index`` only names it."""
    family = family or draw(FAMILIES)
    base: dict[str, Any] = {"name": f"generated {index} {family}", "family": family}
    if family in ("ma_crossover", "mean_reversion", "breakout"):
        traded = sorted({draw(ASSETS) for _ in range(draw((1, 1, 2)))})
        base.update(universe={"assets": traded, "signal_assets": [a for a in ("ETH",) if a not in traded]},
                    entry_rule=condition(draw), rebalance=draw(("on_signal", "on_signal", "daily", "weekly")),
                    risk=_risk(draw), sizing=_sizing(draw))  # fmt: skip
        if draw((0, 1)):
            base["exit_rule"] = condition(draw)
    elif family == "pair_ratio":
        num, den = draw((("ETH", "BTC"), ("BTC", "ETH"), ("LINK", "ETH")))
        mode = draw(("cash", "denominator"))
        ratio = f'ratio("{num}", "{den}")'
        base.update(universe={"assets": [num, den] if mode == "denominator" else [num], "signal_assets":
                              [] if mode == "denominator" else [den]},
                    pair={"numerator": num, "denominator": den, "when_off": mode},
                    entry_rule=f"{ratio} > sma({ratio}, {_window(draw)})", risk=_risk(draw),
                    sizing=_sizing(draw))  # fmt: skip
        if draw((0, 1)):
            base["exit_rule"] = f"{ratio} < bb_lower({ratio}, {max(_window(draw), 2)}, 2)"
    elif family == "momentum":
        base.update(universe={"assets": list(ASSETS[: draw((2, 3, 4))])},
                    momentum={"lookback_days": draw((7, 14, 30, 60)), "top_k": draw((1, 2)),
                              "min_return": draw((None, 0.0, 0.05))},
                    rebalance=draw(("weekly", "daily", "monthly")), risk=_risk(draw),
                    sizing=_sizing(draw))  # fmt: skip
        if draw((0, 0, 1)):
            base["entry_rule"] = f"close > sma(close, {_window(draw)})"
    elif family == "index":
        assets = list(ASSETS[: draw((2, 3, 4))])
        weights = {a: round(draw((0.2, 0.3, 0.4)) / len(assets) * 2, 4) for a in assets}
        base.update(universe={"assets": assets}, index={"weights": weights},
                    rebalance=draw(("monthly", "weekly", "quarterly", "daily")),
                    risk=_risk(draw))  # fmt: skip
    elif family == "lending":
        base.update(universe={"lending_markets": [draw(MARKETS)]})
    else:
        markets = sorted({draw(MARKETS) for _ in range(3)} | {"compound:USDC"})
        if len(markets) < 2:
            markets.append("aave_v2:USDC")
        base.update(universe={"lending_markets": markets},
                    yield_rotation={"markets": markets, "hysteresis_apr": draw((0.0, 0.002, 0.01)),
                                    "switching_cost": draw((0.0, 0.0005, 0.002)),
                                    "min_hold_days": draw((0, 1, 7))})  # fmt: skip
    if family in ("ma_crossover", "mean_reversion", "breakout", "pair_ratio", "momentum", "index") and draw(
        (0, 1)
    ):
        base["idle_cash_market"] = draw(MARKETS)
    return base


def seeded_specs(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` specs from a seeded generator, cycling through every family."""
    rng = random.Random(seed)

    def draw(options: Sequence[Any]) -> Any:
        return rng.choice(list(options))

    return [spec_for(draw, i, FAMILIES[i % len(FAMILIES)]) for i in range(count)]
