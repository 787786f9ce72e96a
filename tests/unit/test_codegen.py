"""Codegen: deterministic bytes, readable agents, every rule function compiles, restricted load."""

from __future__ import annotations

import json

import pytest

from backtest import code_hash, generate, load_agent, load_market, run_backtest
from backtest.codegen import CodegenError
from backtest.examples import example_specs
from backtest.runtime import AgentBase
from core.spec import load_spec

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


RULES = [
    "sma(close, 10) > ema(close, 20)",
    "rsi(close, 14) < 40",
    "crosses_above(macd(close), macd_signal(close))",
    "macd_hist(close, 8, 21, 5) > 0",
    "close < bb_lower(close, 20, 2) or close > bb_upper(close, 20, 2.5)",
    "close > bb_mid(close, 20)",
    "atr(14) / close < 0.08",
    'atr("ETH", 10) > 0',
    "close > highest(high, 20)",
    "close < lowest(low, 10) * 1.2",
    "roc(close, 30) > 0.05",
    "momentum(close, 10) > 0",
    'ratio("ETH", "BTC") > sma(ratio("ETH", "BTC"), 20)',
    'crosses_below(close("ETH"), sma(close("ETH"), 30))',
    "volume > sma(volume, 20) and not (open > close)",
    "-close < -sma(close, 20)",
    "sma((high + low) / 2, 10) > sma(close - 0, 30)",
    "rsi(sma(close, 5), 14) > 50",
]


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_function_compiles_and_runs(rule: str) -> None:
    universe = {"assets": ["BTC"], "signal_assets": ["ETH"]}
    spec = load_spec({"name": "r", "family": "breakout", "universe": universe, "entry_rule": rule})
    market = load_market(None)
    result = run_backtest(spec, market, "2020-01-01", "2021-06-30")
    assert result.backtestable and result.metrics["days"] > 300


def test_all_examples_generate() -> None:
    for spec in example_specs(backtestable_only=True):
        code = generate(spec)
        load_agent(code, code_hash(code))


def test_not_backtestable_has_no_code() -> None:
    spec = next(s for s in example_specs() if not s.backtestable)
    with pytest.raises(ValueError, match="not backtestable"):
        generate(spec)
