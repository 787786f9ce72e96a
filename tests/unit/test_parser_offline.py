"""OfflineParser: the goals on the labelled set, the example texts, determinism, edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.spec import dump_spec, load_spec
from parser.evaluate import evaluate
from parser.offline import OfflineParser
from parser.pipeline import EXAMPLES_DIR

LABELS = Path(__file__).parents[1] / "data" / "strategy_labels.jsonl"


def test_goals_on_labelled_shared_texts(shared_data_dir: Path) -> None:
    report = evaluate(OfflineParser(), LABELS, shared_data_dir / "strategy_texts.jsonl")
    assert report["texts"] == 42
    assert report["family_accuracy"] >= 0.80
    assert report["assets"]["recall"] >= 0.90 and report["assets"]["precision"] >= 0.90
    assert report["schema_violations"] == 0


@pytest.mark.parametrize(
    ("name", "family", "assets", "markets"),
    [
        ("usdc_rotation", "yield_rotation", [], ["aave_v2:USDC", "compound:USDC"]),
        ("usdc_aave_v3_lending", "lending", [], ["aave_v3:USDC"]),
        ("eth_trend", "ma_crossover", ["ETH"], []),
        ("btc_breakout", "breakout", ["BTC"], []),
    ],
)
def test_examples(name: str, family: str, assets: list[str], markets: list[str]) -> None:
    text = (EXAMPLES_DIR / f"{name}.txt").read_text(encoding="utf-8")
    result = OfflineParser().parse(text)
    assert result.spec is not None and result.spec.backtestable, result.rejection
    assert result.spec.family.value == family
    assert result.spec.universe.assets == assets
    assert sorted(result.spec.universe.lending_markets) == markets
    assert result.evidence and all(q in text for q in result.evidence)


def test_parameters_are_read_from_text() -> None:
    text = (EXAMPLES_DIR / "eth_trend.txt").read_text(encoding="utf-8")
    spec = OfflineParser().parse(text).spec
    assert spec is not None
    assert spec.entry_rule == "sma(close, 50) > sma(close, 200)"
    assert spec.risk.stop_loss == pytest.approx(0.12)
    assert spec.quote_currency.value == "USDC"


def test_negated_leverage_does_not_block_backtesting() -> None:
    text = "We trade BTC on a 20-day breakout above the highest high. The strategy does not use any leverage."
    spec = OfflineParser().parse(text).spec
    assert spec is not None and spec.backtestable


def test_leverage_makes_a_spec_not_backtestable() -> None:
    text = "Supplies and borrows USDC repeatedly on Aave (folding) to earn interest with leverage."
    spec = OfflineParser().parse(text).spec
    assert spec is not None and not spec.backtestable
    assert "leverage" in {f.value for f in spec.unsupported_features}


def test_nonsense_is_rejected() -> None:
    result = OfflineParser().parse("The weather is lovely today and the choir sang well.")
    assert result.spec is None and result.rejection


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_any_text_yields_a_valid_spec_or_a_reason(text: str) -> None:
    result = OfflineParser().parse(text)
    if result.spec is None:
        assert result.rejection
    else:
        assert load_spec(dump_spec(result.spec)) == result.spec
    assert OfflineParser().parse(text) == result, "deterministic"
