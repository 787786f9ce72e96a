"""Codegen: deterministic bytes, readable agents, every rule function compiles, restricted load."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backtest import code_hash, generate, load_agent, load_market, run_backtest
from backtest.codegen import CodegenError, is_backtestable
from backtest.examples import example_specs
from backtest.runtime import AgentBase
from core.spec import load_spec, parse_rule

SPEC = {
    "name": "golden",
    "family": "ma_crossover",
    "universe": {"assets": ["BTC", "ETH"]},
    "entry_rule": "sma(close, 50) > sma(close, 200)",
    "risk": {"stop_loss": 0.1},
}


def test_identical_specs_identical_bytes() -> None:
    a = generate(load_spec(SPEC))
    reordered = json.dumps(dict(reversed(list(SPEC.items()))))
    b = generate(load_spec(reordered.replace("sma(close, 50)", "sma( close,50 )")))
    assert a == b
    assert code_hash(a) == code_hash(b)
    assert len(code_hash(a)) == 64


def test_different_specs_different_code() -> None:
    other = generate(load_spec({**SPEC, "entry_rule": "sma(close, 20) > sma(close, 200)"}))
    assert other != generate(load_spec(SPEC))


def test_code_is_readable_and_loads() -> None:
    code = generate(load_spec(SPEC))
    assert "class TreasuryAgent(AgentBase):" in code
    assert "bt.ind.SMA(d.close, period=50)" in code
    assert "# sma(close, 50) > sma(close, 200)" in code
    agent = load_agent(code, code_hash(code))
    assert issubclass(agent, AgentBase)
    assert agent.traded == ("BTC", "ETH") and agent.stop_loss == 0.1
    assert load_agent(code, code_hash(code)) is agent  # same module reused


@pytest.mark.parametrize(
    "tamper",
    [
        "import os\n",
        "from subprocess import run\n",
        "x = open('/etc/passwd')\n",
        "y = ().__class__\n",
        "z = eval('1')\n",
    ],
)
def test_restricted_load_refuses_anything_else(tamper: str) -> None:
    code = generate(load_spec(SPEC)) + tamper
    with pytest.raises(CodegenError):
        load_agent(code, code_hash(code))


def test_load_refuses_hash_mismatch() -> None:
    code = generate(load_spec(SPEC))
    with pytest.raises(CodegenError, match="sha256"):
        load_agent(code + "\n", code_hash(code))


def test_builtins_are_restricted_at_runtime() -> None:
    code = generate(load_spec(SPEC)) + "\nLEN = len\n"
    module_agent = load_agent(code, code_hash(code))
    assert module_agent is not None
    sneaky = generate(load_spec(SPEC)) + "\nprint('x')\n"
    with pytest.raises(NameError):
        load_agent(sneaky, code_hash(sneaky))


# Each rule with its signal computed independently, with pandas, from the textbook definitions
# (Backtrader's conventions: EMA and Wilder smoothing seeded with the first window's mean, RSI 50
# when nothing moved, Bollinger deviation of the population, highest/lowest over the bars *before*).


def _ema(x: pd.Series, n: int, alpha: float | None = None) -> pd.Series:
    a = 2 / (n + 1) if alpha is None else alpha
    out = pd.Series(np.nan, index=x.index)
    valid = x.dropna()
    prev = valid.iloc[:n].mean()
    out[valid.index[n - 1]] = prev
    for day, value in valid.iloc[n:].items():
        prev = prev * (1 - a) + value * a
        out[day] = prev
    return out


def _rsi(x: pd.Series, n: int) -> pd.Series:
    diff = x.diff()
    up = _ema(diff.clip(lower=0), n, 1 / n)
    down = _ema((-diff).clip(lower=0), n, 1 / n)
    rs = (up / down).where(down != 0, np.where(up == 0, 1.0, np.inf))
    return 100 - 100 / (1 + rs)


def _macd(x: pd.Series, f: int = 12, s: int = 26, g: int = 9) -> tuple[pd.Series, pd.Series]:
    line = _ema(x, f) - _ema(x, s)
    return line, _ema(line, g)


def _bb(x: pd.Series, n: int, k: float) -> tuple[pd.Series, pd.Series, pd.Series]:
    mid = x.rolling(n).mean()
    dev = k * np.sqrt(((x**2).rolling(n).mean() - mid**2).abs())
    return mid, mid + dev, mid - dev


def _atr(d: pd.DataFrame, n: int) -> pd.Series:
    prev = d["close"].shift(1)
    tr = np.maximum(d["high"], prev) - np.minimum(d["low"], prev)
    return _ema(tr, n, 1 / n)


def _cross(a: pd.Series, b: pd.Series, above: bool) -> pd.Series:
    if above:
        return (a.shift(1) <= b.shift(1)) & (a > b)
    return (a.shift(1) >= b.shift(1)) & (a < b)


B, E = "BTC", "ETH"
RULES: dict[str, Callable[[dict[str, pd.DataFrame]], pd.Series]] = {
    "sma(close, 10) > ema(close, 20)": lambda m: m[B].close.rolling(10).mean() > _ema(m[B].close, 20),
    "rsi(close, 14) < 40": lambda m: _rsi(m[B].close, 14) < 40,
    "crosses_above(macd(close), macd_signal(close))": lambda m: _cross(*_macd(m[B].close), above=True),
    "macd_hist(close, 8, 21, 5) > 0": lambda m: (lambda ls: ls[0] - ls[1])(_macd(m[B].close, 8, 21, 5)) > 0,
    "close < bb_lower(close, 20, 2) or close > bb_upper(close, 20, 2.5)": lambda m: (
        (m[B].close < _bb(m[B].close, 20, 2)[2]) | (m[B].close > _bb(m[B].close, 20, 2.5)[1])
    ),
    "close > bb_mid(close, 20)": lambda m: m[B].close > m[B].close.rolling(20).mean(),
    "atr(14) / close < 0.08": lambda m: _atr(m[B], 14) / m[B].close < 0.08,
    'atr("ETH", 10) > 15': lambda m: _atr(m[E], 10) > 15,
    "close > highest(high, 20)": lambda m: m[B].close > m[B].high.shift(1).rolling(20).max(),
    "close < lowest(low, 10) * 1.2": lambda m: m[B].close < m[B].low.shift(1).rolling(10).min() * 1.2,
    "roc(close, 30) > 0.05": lambda m: m[B].close / m[B].close.shift(30) - 1 > 0.05,
    "momentum(close, 10) > 0": lambda m: m[B].close - m[B].close.shift(10) > 0,
    'ratio("ETH", "BTC") > sma(ratio("ETH", "BTC"), 20)': lambda m: (
        (m[E].close / m[B].close) > (m[E].close / m[B].close).rolling(20).mean()
    ),
    'crosses_below(close("ETH"), sma(close("ETH"), 30))': lambda m: _cross(
        m[E].close, m[E].close.rolling(30).mean(), above=False
    ),
    "volume > sma(volume, 20) and not (open > close)": lambda m: (
        (m[B].volume > m[B].volume.rolling(20).mean()) & ~(m[B].open > m[B].close)
    ),
    "-close < -sma(close, 20)": lambda m: -m[B].close < -m[B].close.rolling(20).mean(),
    "sma((high + low) / 2, 10) > sma(close - 0, 30)": lambda m: (
        ((m[B].high + m[B].low) / 2).rolling(10).mean() > m[B].close.rolling(30).mean()
    ),
    "rsi(sma(close, 5), 14) > 50": lambda m: _rsi(m[B].close.rolling(5).mean(), 14) > 50,
}


@pytest.mark.parametrize("engine", ["backtrader", "vector"])
@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_function_trades_on_its_independently_computed_signal(rule: str, engine: str) -> None:
    """Hold BTC exactly while the rule is true: every fill is the day after the signal changes."""
    universe = {"assets": ["BTC"], "signal_assets": ["ETH"]}
    spec = load_spec({"name": "r", "family": "breakout", "universe": universe, "entry_rule": rule})
    market = load_market(None)
    result = run_backtest(spec, market, "2020-01-01", "2021-06-30", engine=engine)
    # The agent sees history from `lookback` days before the window (its warm-up), like here.
    first = pd.Timestamp("2020-01-01", tz="UTC") - pd.Timedelta(
        days=parse_rule(spec.entry_rule or "").lookback
    )
    last = pd.Timestamp("2021-06-30", tz="UTC")
    frames = {a: market.ohlcv(a).loc[first:last] for a in (B, E)}
    signal = RULES[rule](frames).loc["2020-01-01":].fillna(False).astype(bool)
    expected, holding = [], False
    for i in range(len(signal) - 1):
        if bool(signal.iloc[i]) != holding:
            holding = bool(signal.iloc[i])
            expected.append((signal.index[i + 1].date().isoformat(), "buy" if holding else "sell"))
    assert [(f["date"], f["side"]) for f in result.trades] == expected
    assert result.metrics["days"] == len(signal)


def test_all_examples_generate() -> None:
    for spec in example_specs(backtestable_only=True):
        code = generate(spec)
        load_agent(code, code_hash(code))


def test_not_backtestable_has_no_code() -> None:
    spec = next(s for s in example_specs() if not s.backtestable)
    with pytest.raises(ValueError, match="not backtestable"):
        generate(spec)


# ---- the generated class, attribute by attribute and family by family (values read off each spec) --


def _agent(name: str) -> Any:
    spec = next(s for s in example_specs() if s.name == name)
    code = generate(spec)
    return load_agent(code, code_hash(code))


class _Stub:
    """Stands in for a running agent: records what the generated ``targets`` asks of its base."""

    def __init__(self, agent: Any, rule: dict[str, float] | None = None) -> None:
        self.agent, self.rule, self.fraction = agent, rule or {}, agent.fraction
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def rule_targets(self) -> dict[str, float]:
        return self.rule

    def pair_state(self, asset: str) -> bool:
        return bool(self.agent.pair_state(self, asset))

    def momentum_targets(self, *args: object) -> dict[str, float]:
        self.calls.append(("momentum", args))
        return {"picked": 1.0}

    def rotate_yield(self, *args: object) -> None:
        self.calls.append(("rotate", args))


def test_breakout_attributes_come_from_the_spec() -> None:
    agent = _agent("BTC/ETH 20-day breakout")
    assert (agent.family, agent.traded, agent.rebalance) == ("breakout", ("BTC", "ETH"), "on_signal")
    assert (agent.fraction, agent.equal_weight, agent.max_exposure) == (0.9, False, 0.97)
    assert (agent.stop_loss, agent.take_profit, agent.trailing_stop) == (None, None, 0.15)
    assert agent.cash_market is None and agent.warmup == 21  # 20 bars before this one
    assert agent.targets(_Stub(agent, {"BTC": 0.45})) == {"BTC": 0.45}


def test_generated_module_header_states_the_spec() -> None:
    import sys

    from core.spec import spec_hash

    spec = next(s for s in example_specs() if s.name == "BTC/ETH 20-day breakout")
    code = generate(spec)
    module = sys.modules[load_agent(code, code_hash(code)).__module__]
    assert spec_hash(spec) == module.SPEC_SHA256 and module.CODEGEN_VERSION == "1"
    assert code_hash(code) == module.CODE_SHA256
    lines = code.splitlines()
    assert lines[0] == f'"""TreasuryAgent for {spec.name!r} (family breakout).'
    assert "Entry rule: close > highest(high, 20)" in lines
    assert "Exit rule:  close < lowest(low, 10)" in lines
    assert "Exit rule:  not entry" in generate(load_spec(SPEC)).splitlines()
    index = generate(next(s for s in example_specs() if s.family.value == "index")).splitlines()
    assert "Entry rule: -" in index and "Exit rule:  -" in index


def test_pair_ratio_holds_the_numerator_when_on_and_the_denominator_when_off() -> None:
    agent = _agent("ETH/BTC ratio trend")
    assert agent.traded == ("ETH", "BTC") and agent.warmup == 31
    on = agent.targets(_Stub(agent, {"ETH": 0.95, "BTC": 0.0}))
    off = agent.targets(_Stub(agent, {"ETH": 0.0, "BTC": 0.0}))
    assert on == {"ETH": 0.95, "BTC": 0.0} and off == {"ETH": 0.0, "BTC": 0.95}
    to_cash = load_spec({"name": "p", "family": "pair_ratio", "universe": {"assets": ["ETH", "BTC"]},
                         "pair": {"numerator": "ETH", "denominator": "BTC", "when_off": "cash"},
                         "entry_rule": 'ratio("ETH", "BTC") > 0.05'})  # fmt: skip
    code = generate(to_cash)
    cash_agent: Any = load_agent(code, code_hash(code))
    assert cash_agent.targets(_Stub(cash_agent, {"ETH": 0.0})) == {"ETH": 0.0}


def test_momentum_index_lending_and_yield_rotation_targets() -> None:
    momentum = _agent("Top-2 30-day momentum rotation")
    stub = _Stub(momentum)
    assert momentum.targets(stub) == {"picked": 1.0} and stub.calls == [("momentum", (30, 2, 0.0))]
    assert (momentum.rebalance, momentum.equal_weight, momentum.fraction) == ("weekly", True, 0.95)
    index = _agent("BTC/ETH 60/40 index")
    assert index.targets(_Stub(index)) == {"BTC": 0.6, "ETH": 0.4} and index.rebalance == "monthly"
    lending = _agent("USDC supplied to Compound")
    assert lending.targets(_Stub(lending)) == {} and lending.cash_market == "compound:USDC"
    assert lending.traded == ()
    rotation = _agent("USDC Aave/Compound yield rotation")
    stub = _Stub(rotation)
    assert rotation.targets(stub) == {}
    assert stub.calls == [("rotate", (("compound:USDC", "aave_v2:USDC"), 0.005, 0.0005, 3))]


def test_restricted_load_checks_each_rule() -> None:
    base = generate(load_spec(SPEC))
    cases = {
        "from . import runtime\n": "imports",  # a relative import names no allowed module
        "import backtrader, os\n": "imports",
        "q = getattr\n": "forbidden name getattr",
        "r = type\n": "forbidden name type",
        "s = bt.__dict__\n": "dunder attribute __dict__",
        "TreasuryAgent = 1\n": "defines no TreasuryAgent",
    }
    for tail, message in cases.items():
        code = base + tail
        with pytest.raises(CodegenError, match=message):
            load_agent(code, code_hash(code))
    # A rejected module is not cached: loading the same text again is refused again (it used to
    # return the cached module's TreasuryAgent, here the integer 1).
    bad = base + "TreasuryAgent = 1\n"
    with pytest.raises(CodegenError, match="defines no TreasuryAgent"):
        load_agent(bad, code_hash(bad))
    fine = base + "from backtest.runtime import AgentBase as Base\nimport backtrader as bt2\n"
    assert issubclass(load_agent(fine, code_hash(fine)), AgentBase)


def test_not_backtestable_reason_names_the_features() -> None:
    spec = next(s for s in example_specs() if not s.backtestable)
    ok, why = is_backtestable(spec)
    assert not ok and why.startswith("not backtestable: ")
    feats = ", ".join(f.value for f in spec.unsupported_features) or "none listed"
    assert why.endswith(f"(unsupported features: {feats})")
    assert is_backtestable(load_spec(SPEC)) == (True, "")
