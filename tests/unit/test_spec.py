"""StrategySpec: strict validation, field-naming errors, hashing, schema drift."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.errors import ValidationError
from core.spec import (
    Family,
    SpecError,
    StrategySpec,
    UnsupportedFeature,
    dump_spec,
    load_spec,
    spec_hash,
)
from core.spec.schema import SCHEMA_PATH, main, render_schema


def base(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "BTC golden cross",
        "family": "ma_crossover",
        "universe": {"assets": ["BTC"]},
        "entry_rule": "sma(close, 50) > sma(close, 200)",
    }
    spec.update(overrides)
    return spec


def test_minimal_spec_has_defaults() -> None:
    spec = load_spec(base())
    assert spec.spec_version == "1.0"
    assert spec.family is Family.MA_CROSSOVER
    assert spec.timeframe.value == "1d"
    assert spec.sizing.fraction == 0.95
    assert spec.backtestable


def test_spec_error_is_a_validation_error() -> None:
    assert issubclass(SpecError, ValidationError)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"family": "astrology"}, "family"),
        ({"surprise": 1}, "surprise"),
        ({"universe": {"assets": ["btc"]}}, "universe.assets.0"),
        ({"universe": {"assets": ["BTC", "BTC"]}}, "universe.assets"),
        (
            {"universe": {"assets": ["BTC"], "lending_markets": ["venus:USDC"]}},
            "universe.lending_markets.0",
        ),
        (
            {"universe": {"assets": ["BTC"], "lending_markets": ["aave_v2-USDC"]}},
            "universe.lending_markets.0",
        ),
        ({"entry_rule": "os.system('x') > 1"}, "entry_rule"),
        ({"exit_rule": "close[1] > 1"}, "exit_rule"),
        ({"entry_rule": None}, "entry_rule"),
        ({"entry_rule": 'close("ETH") > 1'}, "entry_rule"),
        ({"risk": {"stop_loss": 1.5}}, "risk.stop_loss"),
        ({"risk": {"stop_loss": float("nan")}}, "risk.stop_loss"),
        ({"sizing": {"fraction": 0}}, "sizing.fraction"),
        ({"spec_version": "2.0"}, "spec_version"),
        ({"name": ""}, "name"),
        ({"family": "staking"}, "backtestable"),
        ({"unsupported_features": ["leverage"]}, "backtestable"),
        (
            {"unsupported_features": ["teleportation"], "backtestable": False},
            "unsupported_features.0",
        ),
        ({"timeframe": "1h"}, "timeframe"),
        ({"timeframe": "5m"}, "timeframe"),
        ({"family": "momentum"}, "momentum"),
        ({"family": "pair_ratio"}, "pair"),
        ({"family": "yield_rotation"}, "yield_rotation"),
        ({"family": "lending", "universe": {}}, "universe.lending_markets"),
        ({"family": "index"}, "index"),
        ({"family": "index", "index": {"weights": {"ETH": 0.5}}}, "index.weights"),
        ({"family": "index", "index": {"weights": {"BTC": 0.7, "ETH": 0.7}}}, "index.weights"),
        ({"momentum": {"lookback_days": 1000}}, "momentum.lookback_days"),
        ({"evidence": ["x" * 2000]}, "evidence.0"),
        ({"universe": {"assets": []}}, "universe.assets"),
    ],
)
def test_bad_specs_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(base(**overrides))
    assert info.value.field == field
    assert field in str(info.value)


def test_not_backtestable_specs_are_valid_with_features() -> None:
    spec = load_spec(
        {
            "name": "Aave folding",
            "family": "leveraged_lending",
            "universe": {"lending_markets": ["aave_v2:USDC"]},
            "backtestable": False,
            "unsupported_features": ["leverage", "flash_loans", "leverage"],
            "unsupported_reason": "loops borrow and supply",
            "evidence": ["supplies USDC, borrows USDC, repeats"],
        }
    )
    assert spec.unsupported_features == [
        UnsupportedFeature.FLASH_LOANS,
        UnsupportedFeature.LEVERAGE,
    ]


def test_json_text_and_bad_json() -> None:
    assert load_spec(json.dumps(base())).name == "BTC golden cross"
    with pytest.raises(SpecError) as info:
        load_spec("{not json")
    assert info.value.field == "spec"
    with pytest.raises(SpecError):
        load_spec("[1, 2]")
    with pytest.raises(SpecError):
        load_spec("x" * 200_000)


def test_hash_ignores_formatting_and_defaults() -> None:
    a = load_spec(base())
    b = load_spec(base(entry_rule="sma( close,50 )>sma(close , 200)", sizing={"fraction": 0.95}))
    assert a == b
    assert spec_hash(a) == spec_hash(b)
    c = load_spec(base(entry_rule="sma(close, 20) > sma(close, 200)"))
    assert spec_hash(c) != spec_hash(a)
    assert len(spec_hash(a)) == 64


def test_dump_round_trips() -> None:
    spec = load_spec(base(risk={"stop_loss": 0.1}))
    assert load_spec(dump_spec(spec)) == spec


def test_spec_is_immutable() -> None:
    spec = load_spec(base())
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own frozen-instance error
        spec.name = "other"


def test_schema_file_matches_model() -> None:
    """Fails when prompts/strategy_spec.schema.json drifts: run `python -m core.spec.schema`."""
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema()
    assert main(["--check"]) == 0
    schema = json.loads(render_schema())
    assert schema["additionalProperties"] is False
    assert set(schema["$defs"]["Family"]["enum"]) == {f.value for f in Family}


def test_model_validate_directly_is_strict() -> None:
    with pytest.raises(Exception):  # noqa: B017 - pydantic's own error when bypassing load_spec
        StrategySpec.model_validate(base(extra=1))
