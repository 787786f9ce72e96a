"""Implement: one parsed text -> a bounded family of variants, each a trial of the deflated Sharpe.

A parameter the text states (its number appears in the text) is kept as written; a parameter the
text leaves open gets the family's documented default grid (:data:`GRIDS`). The traded asset varies
over the assets the text itself trades that the data has — unless the rules name other assets
explicitly (a pair, a BTC trend filter on an ETH trade), in which case the text fixed the roles.
The product of these choices is capped at ``limit`` (configuration ``max_variants_per_text``,
default 200) by taking evenly spaced combinations, and the report says so.

Default grids (days unless noted):

==================  ===========================================
moving averages     10, 20, 50, 100, 200 (a fast MA stays faster than the slow one it is compared with)
RSI window          7, 14, 21; RSI thresholds below 50: 25, 30, 35; above 50: 65, 70, 75
Bollinger           window 10, 20, 30; width 1.5, 2, 2.5 standard deviations
highest / lowest    10, 20, 55
roc / momentum      10, 30, 90
momentum family     lookback 7, 14, 30, 60, 90; top k 1 .. min(3, assets)
yield rotation      hysteresis 0.25 %, 0.5 %, 1 % APR; minimum hold 1, 7, 30 days
index               rebalance weekly, monthly, quarterly
vol targeting       target volatility 5 %, 10 %, 15 %, 20 %; lookback 20, 30, 60, 90 (a text that
                    states volatility targeting; others get risk-managed versions, see
                    :mod:`parser.risk_variants`, with ``risk_managed=True``)
==================  ===========================================
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.spec import Family, SizingMethod, StrategySpec, load_spec, parse_rule
from core.spec.rule_nodes import Arith, BoolOp, Compare, Cross, Indicator, Neg, Node, Not, Num, render, walk
from parser.recognise import principal_assets
from parser.risk_variants import risk_managed_versions
from parser.vocabulary import STABLECOINS

GRIDS: dict[str, tuple[float, ...]] = {
    "ma": (10, 20, 50, 100, 200),
    "rsi": (7, 14, 21),
    "rsi_low": (25, 30, 35),
    "rsi_high": (65, 70, 75),
    "bb": (10, 20, 30),
    "bb_k": (1.5, 2.0, 2.5),
    "extreme": (10, 20, 55),
    "change": (10, 30, 90),
    "lookback": (7, 14, 30, 60, 90),
    "hysteresis": (0.0025, 0.005, 0.01),
    "min_hold": (1, 7, 30),
    "target_vol": (0.05, 0.10, 0.15, 0.20),
    "vol_lookback": (20, 30, 60, 90),
}
_KIND = {"sma": "ma", "ema": "ma", "rsi": "rsi", "bb_upper": "bb", "bb_lower": "bb", "bb_mid": "bb",
         "highest": "extreme", "lowest": "extreme", "roc": "change", "momentum": "change"}  # fmt: skip
RULE_FAMILIES = (Family.MA_CROSSOVER, Family.MEAN_REVERSION, Family.BREAKOUT, Family.PAIR_RATIO)


@dataclass(frozen=True)
class Variant:
    spec: StrategySpec
    label: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VariantFamily:
    variants: list[Variant]
    combinations: int  # every combination of the grids (before the cap and the order rule)
    limit: int
    stated: list[str]  # parameters kept as the text states them
    defaulted: list[str]  # parameters taken from the family's default grid
    assets: list[str]  # traded-asset alternatives (the text's, with data)
    missing_assets: list[str]  # assets the text trades that the data lacks
    risk_managed: int = 0  # how many of ``variants`` are risk-managed versions (parser.risk_variants)

    @property
    def capped(self) -> bool:
        return self.combinations > self.limit

    def summary(self) -> dict[str, Any]:
        return {
            "variants": len(self.variants),
            "combinations": self.combinations,
            "capped": self.capped,
            "stated": self.stated,
            "defaulted": self.defaulted,
            "assets": self.assets,
            "missing_assets": self.missing_assets,
            "risk_managed": self.risk_managed,
        }


_UNITS = r"\s*-?\s*(?:days?|periods?|bars?|candles?|d\b|weeks?)"
_NAMES = r"(?:MA|SMA|EMA|RSI|ROC|Bollinger|lookback|window|period)"


def stated_in(text: str, value: float, kind: str = "window") -> bool:
    """Is ``value`` written in ``text`` as that kind of parameter?

    ``window``: ``30-day``, ``30 periods``, ``MA(30)``, ``RSI 14``; ``level``: a number after RSI
    (``RSI below 30``); ``fraction``: a percentage (``1.5 %`` for 0.015) or the decimal itself;
    ``count``: ``top 2``. A bare number elsewhere (``30 % - 50 %`` of variance) does not count.
    """
    number = re.escape(f"{value:g}")
    bare = rf"(?<![\d.]){number}(?![\d]|\.\d)"
    if kind == "window":
        patterns = [bare + _UNITS, rf"(?i){_NAMES}\s*[\(\-]?\s*{bare}"]
    elif kind == "level":
        patterns = [rf"(?i)\bRSI\b[^.\n]{{0,40}}{bare}"]
    elif kind == "count":
        patterns = [rf"(?i)\btop\s*{bare}", bare + r"\s+(?:assets|coins|tokens)"]
    else:
        percent = re.escape(f"{value * 100:g}")
        patterns = [rf"(?<![\d.]){percent}\s*%", bare]
    return any(re.search(p, text) for p in patterns)


def build_variants(
    spec: StrategySpec, text: str, data_assets: Iterable[str], limit: int = 200, *, risk_managed: bool = False
) -> VariantFamily:
    """The variants of ``spec`` for the text it was parsed from (see the module docstring); with
    ``risk_managed``, followed by their risk-managed versions (:mod:`parser.risk_variants`)."""
    have = set(data_assets)
    axes, stated, defaulted = _axes(spec, text)
    assets, missing = _asset_alternatives(spec, text, have)
    if assets:
        axes.append(("asset", tuple(assets)))
    names = [name for name, _values in axes]
    combos = list(itertools.product(*(values for _name, values in axes)))
    chosen = _evenly(combos, limit)
    variants: list[Variant] = []
    seen: set[str] = set()
    for combo in chosen:
        params = dict(zip(names, combo, strict=True))
        built = _apply(spec, params)
        if built is None or built.label in seen:
            continue
        seen.add(built.label)
        variants.append(built)
    extra: list[Variant] = []
    if risk_managed:
        written = [(v.spec, v.label) for v in variants]
        extra = [
            Variant(s, label, params) for s, label, params in risk_managed_versions(spec, written, limit)
        ]
    family = VariantFamily(variants + extra, len(combos), limit, stated, defaulted, assets, missing)
    return replace(family, risk_managed=len(extra))


def _evenly(combos: list[tuple[Any, ...]], limit: int) -> list[tuple[Any, ...]]:
    if len(combos) <= limit:
        return combos
    picks = np.unique(np.linspace(0, len(combos) - 1, limit).round().astype(int))
    return [combos[i] for i in picks]


# ---- which parameters vary ------------------------------------------------------------------


def _axes(spec: StrategySpec, text: str) -> tuple[list[tuple[str, tuple[Any, ...]]], list[str], list[str]]:
    axes: list[tuple[str, tuple[Any, ...]]] = []
    stated: list[str] = []
    defaulted: list[str] = []

    def axis(name: str, value: float, grid: tuple[float, ...], kind: str = "window") -> None:
        if stated_in(text, value, kind):
            stated.append(f"{name}={value:g}")
        else:
            defaulted.append(name)
            axes.append((name, tuple(grid)))

    for name, value, kind in _rule_slots(spec):
        axis(
            name,
            value,
            GRIDS[kind],
            "level" if kind.startswith("rsi_") else "fraction" if kind == "bb_k" else "window",
        )
    if spec.family is Family.MOMENTUM and spec.momentum is not None:
        axis("lookback", spec.momentum.lookback_days, GRIDS["lookback"])
        top = tuple(float(k) for k in range(1, min(3, len(spec.universe.assets)) + 1))
        axis("top_k", spec.momentum.top_k, top, "count")
    if spec.family is Family.YIELD_ROTATION and spec.yield_rotation is not None:
        axis("hysteresis", spec.yield_rotation.hysteresis_apr, GRIDS["hysteresis"], "fraction")
        axis("min_hold", spec.yield_rotation.min_hold_days, GRIDS["min_hold"])
    if spec.sizing.method is SizingMethod.VOLATILITY_TARGET and spec.sizing.target_vol is not None:
        axis("target_vol", spec.sizing.target_vol, GRIDS["target_vol"], "fraction")
        axis("vol_lookback", spec.sizing.lookback_days, GRIDS["vol_lookback"])
    if spec.family is Family.INDEX and spec.rebalance.value == "on_signal":
        defaulted.append("rebalance")
        axes.append(("rebalance", ("weekly", "monthly", "quarterly")))
    return axes, stated, defaulted


def _rule_slots(spec: StrategySpec) -> list[tuple[str, float, str]]:
    """(slot name, current value, grid kind) of the rule parameters that can vary. Slots are shared
    by entry and exit (``rsi 14`` in both is one parameter)."""
    if spec.family not in RULE_FAMILIES:
        return []
    slots: dict[str, tuple[str, float, str]] = {}
    for rule in (spec.entry_rule, spec.exit_rule):
        if not rule:
            continue
        tree = parse_rule(rule).tree
        for node in walk(tree):
            if isinstance(node, Indicator) and node.name in _KIND:
                kind = _KIND[node.name]
                slots.setdefault(
                    f"{kind}:{node.params[0]:g}", (f"{kind}:{node.params[0]:g}", node.params[0], kind)
                )
                if node.name.startswith("bb_") and len(node.params) > 1:
                    slots.setdefault(
                        f"bb_k:{node.params[1]:g}", (f"bb_k:{node.params[1]:g}", node.params[1], "bb_k")
                    )
        for left, right in _rsi_thresholds(tree):
            kind = "rsi_low" if right < 50 else "rsi_high"
            slots.setdefault(f"{kind}:{right:g}", (f"{kind}:{right:g}", right, kind))
            del left
    return list(slots.values())


def _rsi_thresholds(tree: Node) -> list[tuple[Indicator, float]]:
    out: list[tuple[Indicator, float]] = []
    for node in walk(tree):
        if isinstance(node, Compare):
            pairs = ((node.left, node.right), (node.right, node.left))
            for a, b in pairs:
                if isinstance(a, Indicator) and a.name == "rsi" and isinstance(b, Num):
                    out.append((a, b.value))
    return out


def _asset_alternatives(spec: StrategySpec, text: str, have: set[str]) -> tuple[list[str], list[str]]:
    """Traded-asset alternatives for single-asset rule specs (empty: the asset stays as parsed)."""
    if spec.family not in (Family.MA_CROSSOVER, Family.MEAN_REVERSION, Family.BREAKOUT):
        return [], []
    if len(spec.universe.assets) != 1 or _names_assets(spec):
        return [], []
    traded = [a for a in principal_assets(text) if a not in STABLECOINS] or list(spec.universe.assets)
    if spec.universe.assets[0] not in traded:
        traded.insert(0, spec.universe.assets[0])
    return [a for a in traded if a in have], [a for a in traded if a not in have]


def _names_assets(spec: StrategySpec) -> bool:
    return any(parse_rule(r).assets for r in (spec.entry_rule, spec.exit_rule) if r)


# ---- building one variant -------------------------------------------------------------------


def _apply(spec: StrategySpec, params: dict[str, Any]) -> Variant | None:
    data = spec.model_dump(mode="json")
    for rule_field in ("entry_rule", "exit_rule"):
        if data.get(rule_field):
            data[rule_field] = render(_substitute(parse_rule(data[rule_field]).tree, params))
    if "lookback" in params and data.get("momentum"):
        data["momentum"]["lookback_days"] = int(params["lookback"])
    if "top_k" in params and data.get("momentum"):
        data["momentum"]["top_k"] = int(params["top_k"])
    if "hysteresis" in params and data.get("yield_rotation"):
        data["yield_rotation"]["hysteresis_apr"] = params["hysteresis"]
    if "min_hold" in params and data.get("yield_rotation"):
        data["yield_rotation"]["min_hold_days"] = int(params["min_hold"])
    if "rebalance" in params:
        data["rebalance"] = params["rebalance"]
    if "target_vol" in params:
        data["sizing"]["target_vol"] = float(params["target_vol"])
    if "vol_lookback" in params:
        data["sizing"]["lookback_days"] = int(params["vol_lookback"])
    if "asset" in params:
        data["universe"]["assets"] = [params["asset"]]
        data["universe"]["signal_assets"] = [
            a for a in data["universe"].get("signal_assets", []) if a != params["asset"]
        ]
    if not _ordered_like(spec, data):
        return None
    label = _label(spec, params)
    data["name"] = f"{spec.name[:80]} [{label}]"[:120]
    return Variant(load_spec(data), label, params)


def _substitute(node: Node, params: dict[str, Any]) -> Node:
    if isinstance(node, Indicator):
        values = list(node.params)
        if node.name in _KIND:
            key = f"{_KIND[node.name]}:{node.params[0]:g}"
            values[0] = float(params.get(key, values[0]))
            if node.name.startswith("bb_") and len(values) > 1:
                values[1] = float(params.get(f"bb_k:{node.params[1]:g}", values[1]))
        source = _substitute(node.source, params) if node.source is not None else None
        return replace(node, source=source, params=tuple(values))
    if isinstance(node, Compare):
        left, right = _substitute(node.left, params), _substitute(node.right, params)
        for a, b in ((left, right), (right, left)):
            if isinstance(a, Indicator) and a.name == "rsi" and isinstance(b, Num):
                kind = "rsi_low" if b.value < 50 else "rsi_high"
                new = Num(float(params.get(f"{kind}:{b.value:g}", b.value)))
                left, right = (a, new) if a is left else (new, a)
        return Compare(node.op, left, right)
    if isinstance(node, Cross):
        return Cross(node.direction, _substitute(node.left, params), _substitute(node.right, params))
    if isinstance(node, Arith):
        return Arith(node.op, _substitute(node.left, params), _substitute(node.right, params))
    if isinstance(node, Neg | Not):
        return type(node)(_substitute(node.operand, params))
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(_substitute(v, params) for v in node.values))
    return node


def _ordered_like(spec: StrategySpec, data: dict[str, Any]) -> bool:
    """A fast moving average compared with a slow one stays the faster (windows keep their order)."""
    for before, after in ((spec.entry_rule, data.get("entry_rule")), (spec.exit_rule, data.get("exit_rule"))):
        if not before or not after:
            continue
        old = [c for c in walk(parse_rule(before).tree) if isinstance(c, Compare)]
        new = [c for c in walk(parse_rule(after).tree) if isinstance(c, Compare)]
        for a, b in zip(old, new, strict=True):
            if _is_ma(a.left) and _is_ma(a.right) and _is_ma(b.left) and _is_ma(b.right):
                was = _window(a.left) - _window(a.right)
                now = _window(b.left) - _window(b.right)
                if now == 0 or (was > 0) != (now > 0):
                    return False
    return True


def _is_ma(node: Node) -> bool:
    return isinstance(node, Indicator) and node.name in ("sma", "ema")


def _window(node: Node) -> float:
    assert isinstance(node, Indicator)
    return node.params[0]


def _label(spec: StrategySpec, params: dict[str, Any]) -> str:
    """``ma 20->10, bb_k 2->1.5, asset ETH``: each varied parameter, from the parsed value to this one."""
    parts = []
    for key, value in params.items():
        name, _, was = key.partition(":")
        shown = f"{value:g}" if isinstance(value, float | int) else str(value)
        parts.append(f"{name} {was}->{shown}" if was else f"{name} {shown}")
    return ", ".join(parts) or "as parsed"


def variant_specs(family: VariantFamily) -> Sequence[StrategySpec]:
    return [v.spec for v in family.variants]
