"""One spec through the vector engine: prepared inputs -> arrays -> :func:`run_bars` -> EngineRun.

:func:`supports` says which specs it can run exactly; anything else is refused with
:class:`VectorUnsupported` (never approximated). Today that is every backtestable family (rule
families, pair ratio, momentum, index, lending, yield rotation) with every sizing method (fixed
fraction, equal weight, volatility targeting), the drawdown stop and the T-bill cash leg; a sizing
method or family added later is refused until the engine learns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backtest import plan
from backtest.data.market import DataError
from backtest.inputs import BacktestInputs
from backtest.result import EngineRun
from backtest.vector.broker import (
    DAILY,
    INDEX,
    LENDING,
    MOMENTUM,
    MONTHLY,
    ON_SIGNAL,
    PAIR,
    QUARTERLY,
    RULE,
    SWITCH,
    WEEKLY,
    YIELD,
)
from backtest.vector.loop import S_REJECTED, run_bars
from backtest.vector.signals import Evaluator
from core.errors import ValidationError
from core.spec import Family, SizingMethod, StrategySpec, parse_rule

FAMILIES = {
    Family.MA_CROSSOVER: RULE,
    Family.MEAN_REVERSION: RULE,
    Family.BREAKOUT: RULE,
    Family.PAIR_RATIO: PAIR,
    Family.MOMENTUM: MOMENTUM,
    Family.INDEX: INDEX,
    Family.LENDING: LENDING,
    Family.YIELD_ROTATION: YIELD,
}
CADENCES = {
    "on_signal": ON_SIGNAL,
    "daily": DAILY,
    "weekly": WEEKLY,
    "monthly": MONTHLY,
    "quarterly": QUARTERLY,
}
SIZING = (SizingMethod.FIXED_FRACTION, SizingMethod.EQUAL_WEIGHT, SizingMethod.VOLATILITY_TARGET)
NONE = float("nan")


class VectorUnsupported(ValidationError):
    """The vector engine cannot run this spec exactly (run it with the Backtrader engine)."""

    code = "vector_unsupported"


def supports(spec: StrategySpec) -> tuple[bool, str]:
    """Whether :func:`simulate` runs ``spec`` with the agent's exact semantics, and why not."""
    if spec.family not in FAMILIES:
        return False, f"the vector engine cannot express family {spec.family.value}"
    if spec.sizing.method not in SIZING:
        return False, f"the vector engine cannot express sizing method {spec.sizing.method.value}"
    return True, ""


@dataclass
class ArraysCache:
    """Indicator arrays shared by the variants of one screen (same window, same data), and the
    calendar's day fields and date texts, computed once."""

    fields: dict[str, dict[str, np.ndarray]]
    evaluator: Evaluator = field(init=False)
    _calendar: dict[int, np.ndarray] = field(default_factory=dict)
    _days: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.evaluator = Evaluator(self.fields)

    def calendar(self, days: pd.DatetimeIndex) -> np.ndarray:
        """(weekday, day of month, month) per bar, computed once per calendar."""
        key = id(days)
        if key not in self._calendar:
            self._calendar[key] = _calendar(self.days(days))
        return self._calendar[key]

    def days(self, days: pd.DatetimeIndex) -> np.ndarray:
        """``days`` as numpy day numbers (datetime64[D]), computed once per calendar."""
        key = id(days)
        if key not in self._days:
            utc = days.tz_convert(None) if days.tz is not None else days
            self._days[key] = utc.to_numpy().astype("datetime64[D]")
        return self._days[key]


@dataclass
class BarsRun:
    """The raw output of the day loop (what screening needs, without building fill records)."""

    equity: np.ndarray  # per bar, NaN before the first live bar
    invested: np.ndarray
    fills: np.ndarray
    kinds: np.ndarray
    rejected: int


def frame_arrays(inputs: BacktestInputs) -> dict[str, dict[str, np.ndarray]]:
    return {
        name: {col: frame[col].to_numpy(dtype=float) for col in ("open", "high", "low", "close", "volume")}
        for name, frame in inputs.frames.items()
    }


def simulate(
    inputs: BacktestInputs, cash: float, commission: float, slippage: float, cache: ArraysCache | None = None
) -> EngineRun:
    """Run ``inputs.spec`` (refused with :class:`VectorUnsupported` if :func:`supports` says no)."""
    cache = cache or ArraysCache(frame_arrays(inputs))
    bars = run_spec(inputs, cash, commission, slippage, cache)
    live = ~np.isnan(bars.equity)
    days = pd.DatetimeIndex(inputs.calendar[live], name="date")
    traded, markets = plan.traded_assets(inputs.spec), _markets(inputs.spec)
    log = _fills(bars.fills, bars.kinds, cache.days(inputs.calendar), traded, markets)
    return EngineRun(days, bars.equity[live], bars.invested[live], log, bars.rejected)


def run_spec(
    inputs: BacktestInputs, cash: float, commission: float, slippage: float, cache: ArraysCache
) -> BarsRun:
    """The day loop on ``inputs`` without building fill records (screening uses this directly)."""
    spec = inputs.spec
    ok, why = supports(spec)
    if not ok:
        raise VectorUnsupported(why)
    traded = plan.traded_assets(spec)
    entry, exit_, allowed = _signals(spec, traded, cache.evaluator, len(inputs.calendar))
    markets = _markets(spec)
    bars = len(inputs.calendar)
    rates = np.array([inputs.rates[m] for m in markets]).reshape(len(markets), bars)
    marks = np.array([inputs.marks[m] for m in markets]).reshape(len(markets), bars)
    initial = plan.cash_market(spec)
    columns = [cache.fields[a] for a in traded]
    try:
        equity, invested, fills, kinds, state = run_bars(
            FAMILIES[spec.family],
            CADENCES[plan.cadence(spec)],
            int(inputs.calendar.searchsorted(inputs.lo)),
            cache.calendar(inputs.calendar),
            _stack(columns, "open", bars),
            _stack(columns, "high", bars),
            _stack(columns, "low", bars),
            _stack(columns, "close", bars),
            entry,
            exit_,
            allowed,
            _ranks(traded),
            _params(spec),
            np.array([_opt(spec.risk.stop_loss), _opt(spec.risk.take_profit), _opt(spec.risk.trailing_stop)]),
            _index_weights(spec, traded),
            rates,
            marks,
            _ranks(markets),
            markets.index(initial) if initial in markets else -1,
            cash,
            commission,
            slippage,
        )
    except ZeroDivisionError:
        raise DataError(f"{spec.name}: a rule divides by zero on this data") from None
    return BarsRun(equity, invested, fills, kinds, int(state[S_REJECTED]))


def _signals(
    spec: StrategySpec, traded: tuple[str, ...], ev: Evaluator, bars: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(traded)
    entry = np.zeros((n, bars), dtype=np.bool_)
    exit_ = np.zeros((n, bars), dtype=np.bool_)
    entry_tree = parse_rule(spec.entry_rule).tree if spec.entry_rule else None
    exit_tree = parse_rule(spec.exit_rule).tree if spec.exit_rule else None
    for j, asset in enumerate(traded):
        if entry_tree is not None:
            entry[j] = ev.condition(entry_tree, asset)
        exit_[j] = ev.condition(exit_tree, asset) if exit_tree is not None else ~entry[j]
    allowed = entry if entry_tree is not None else np.ones((n, bars), dtype=np.bool_)
    return entry, exit_, allowed


def _markets(spec: StrategySpec) -> list[str]:
    """Rows of the rate/mark matrices: the rotation's markets, or the one cash market."""
    if spec.family is Family.YIELD_ROTATION and spec.yield_rotation is not None:
        return list(spec.yield_rotation.markets)
    cash = plan.cash_market(spec)
    return [cash] if cash else []


def _stack(columns: list[dict[str, np.ndarray]], name: str, bars: int) -> np.ndarray:
    if not columns:
        return np.zeros((0, bars))
    return np.ascontiguousarray(np.vstack([c[name] for c in columns]))


def _calendar(days: np.ndarray) -> np.ndarray:
    """Monday = 0 weekday, day of month and month of datetime64[D] days (1970-01-01 was a Thursday)."""
    number = days.astype(np.int64)
    months = days.astype("datetime64[M]")
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    month = months.astype(np.int64) % 12 + 1
    return np.column_stack([(number + 3) % 7, day, month]).astype(np.int64)


def _ranks(names: tuple[str, ...] | list[str]) -> np.ndarray:
    order = sorted(range(len(names)), key=lambda i: names[i])
    ranks = np.zeros(len(names), dtype=np.int64)
    for r, i in enumerate(order):
        ranks[i] = r
    return ranks


def _opt(value: float | None) -> float:
    return NONE if value is None else float(value)


def _params(spec: StrategySpec) -> np.ndarray:
    m, y, pair = spec.momentum, spec.yield_rotation, spec.pair
    stop = plan.drawdown_stop(spec)
    return np.array(
        [
            spec.sizing.fraction,
            1.0 if plan.equal_weight(spec) else 0.0,
            spec.sizing.max_exposure,
            m.lookback_days if m else 0,
            m.top_k if m else 1,
            _opt(m.min_return) if m else NONE,
            y.hysteresis_apr if y else 0.0,
            y.switching_cost if y else 0.0,
            y.min_hold_days if y else 0,
            1.0 if pair is not None and pair.when_off.value == "denominator" else 0.0,
            _opt(plan.vol_target(spec)),
            spec.sizing.lookback_days,
            spec.sizing.max_leverage,
            stop[0] if stop else NONE,
            1.0 if stop and stop[1] == "signal" else 0.0,
            stop[2] if stop else 0,
            spec.sizing.rebalance_band,
        ],
        dtype=float,
    )


def _index_weights(spec: StrategySpec, traded: tuple[str, ...]) -> np.ndarray:
    if spec.family is Family.INDEX and spec.index is not None:
        return np.array([spec.index.weights[a] for a in traded], dtype=float)
    return np.zeros(len(traded))


def _fills(
    values: np.ndarray,
    kinds: np.ndarray,
    days: np.ndarray,
    traded: tuple[str, ...],
    markets: list[str],
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    dates = np.datetime_as_string(days[kinds[:, 0]], unit="D").tolist() if len(kinds) else []
    for k, ((size, price, value, comm), (_t, who, side, other)) in enumerate(
        zip(values.tolist(), kinds.tolist(), strict=True)
    ):
        if side == SWITCH:
            asset, label = f"{markets[who]}->{markets[other]}", "switch"
        else:
            asset, label = traded[who], "buy" if side == 0 else "sell"
        out.append(
            {"date": dates[k], "asset": asset, "side": label, "size": size, "price": price, "value": value,
             "commission": comm}
        )  # fmt: skip
    return out
