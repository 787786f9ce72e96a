"""The decision's exact arithmetic by hand: quantised weights, expected performance, reasons and the
stored JSON shape, field by field."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pandas as pd
import pytest

from core.optimizer.decision import (
    Alternative,
    Decision,
    Performance,
    performance,
    quantise_weights,
    token_reason,
)

D = Decimal


def test_weights_round_down_to_the_millionth() -> None:
    out = quantise_weights({"A": 0.1234567, "B": 0.0999999999, "C": 0.05}, cap=0.2, min_weight=0.01)
    assert out == {"A": D("0.123456"), "B": D("0.099999"), "C": D("0.05")}


def test_weights_above_the_cap_are_cut_to_the_floored_cap() -> None:
    # The cap itself is floored to 1e-6: 0.2000009 -> 0.2.
    out = quantise_weights({"A": 0.35, "B": 0.2000005}, cap=0.2000009, min_weight=0.0)
    assert out == {"A": D("0.2"), "B": D("0.2")}


def test_dust_non_finite_and_non_positive_weights_are_dropped() -> None:
    raw = {"dust": 0.0099, "edge": 0.01, "nan": math.nan, "inf": math.inf, "neg": -0.1, "zero": 0.0,
           "tiny": 4e-7}  # fmt: skip
    out = quantise_weights(raw, cap=0.5, min_weight=0.01)
    assert out == {"edge": D("0.01")}  # the minimum itself is kept
    # Without a minimum, 4e-7 still rounds down to 0 and is not kept as a zero weight. (The float
    # 0.3 is 0.29999999999999998889...: exact flooring of the binary value gives 0.299999.)
    assert quantise_weights({"tiny": 4e-7, "ok": 0.25, "third": 0.3}, cap=1.0, min_weight=0.0) == {
        "ok": D("0.25"),
        "third": D("0.299999"),
    }


def test_a_sum_above_one_is_trimmed_from_the_largest_weight() -> None:
    # Solver tolerance: 0.5000004 + 0.5000003 -> 0.5 + 0.5 after flooring: nothing to trim.
    assert quantise_weights({"A": 0.5000004, "B": 0.5000003}, 1.0, 0.0) == {"A": D("0.5"), "B": D("0.5")}
    # 0.600001 + 0.400001 = 1.000002: the excess 0.000002 comes off the largest (A).
    out = quantise_weights({"A": 0.6000015, "B": 0.4000015}, cap=1.0, min_weight=0.0)
    assert out == {"A": D("0.599999"), "B": D("0.400001")}
    assert sum(out.values()) == 1
    # Ties on the largest weight: the later symbol in sort order gives up the excess.
    tie = quantise_weights({"A": 0.5000015, "B": 0.5000015}, cap=1.0, min_weight=0.0)
    assert tie == {"A": D("0.500001"), "B": D("0.499999")}


def test_expected_performance_by_hand() -> None:
    mu = pd.Series({"A": 0.20, "B": 0.10, "C": 0.50})
    cov = pd.DataFrame([[0.04, 0.01, 0.0], [0.01, 0.09, 0.0], [0.0, 0.0, 1.0]],
                       index=["A", "B", "C"], columns=["A", "B", "C"])  # fmt: skip
    p = performance({"A": D("0.5"), "B": D("0.25")}, mu, cov, risk_free=0.04)
    # Return 0.5 x 0.20 + 0.25 x 0.10 + 0.25 (cash) x 0.04 = 0.135.
    # Variance 0.25 x 0.04 + 0.0625 x 0.09 + 2 x 0.5 x 0.25 x 0.01 = 0.018125.
    assert p.expected_return == pytest.approx(0.135, rel=1e-12)
    assert p.volatility == pytest.approx(math.sqrt(0.018125), rel=1e-12)
    assert p.sharpe == pytest.approx((0.135 - 0.04) / math.sqrt(0.018125), rel=1e-12)
    assert performance({}, mu, cov, 0.04) == Performance(0.04, 0.0, None)  # all cash
    flat = performance({"A": D("0.5")}, mu, cov * 0, 0.04)
    assert flat.volatility == 0.0 and flat.sharpe is None
    assert flat.expected_return == pytest.approx(0.5 * 0.20 + 0.5 * 0.04, rel=1e-12)


def test_token_reasons_name_the_cap_the_weight_or_why_out() -> None:
    cap = D("0.2")
    facts = "expected return +12.3%/yr, volatility 45.7%/yr"
    assert token_reason("A", D("0.2"), cap, 0.1234, 0.4567, 0.04) == (
        f"in at the 20% cap per token ({facts}); capped, it would get more"
    )
    assert token_reason("A", D("0.125"), cap, 0.1234, 0.4567, 0.04) == f"in at 12.5% ({facts})"
    assert token_reason("A", D("0"), cap, 0.04, 0.4567, 0.04) == (
        "out: its expected return does not beat cash (expected return +4.0%/yr, volatility 45.7%/yr)"
    )
    assert token_reason("A", D("0"), cap, 0.1234, 0.4567, 0.04) == (
        f"out: its return does not pay for its risk next to the other tokens ({facts})"
    )


def _decision() -> Decision:
    return Decision(
        tier="basic",
        profile="max_sharpe",
        method="max_sharpe",
        weights={"A": D("0.2"), "B": D("0.15")},
        cash_weight=D("0.65"),
        performance=Performance(0.1234567891, 0.2, 0.5),
        equal_weight=Alternative({"A": D("0.2"), "B": D("0.2")}, D("0.6"), Performance(0.1, math.nan, None)),
        reasons={"A": "in", "B": "in", "C": "out"},
        summary="two tokens",
        note="a note",
        inputs={"days": 90},
    )


def test_target_is_the_weight_or_zero() -> None:
    d = _decision()
    assert d.target("A") == D("0.2") and d.target("C") == 0


def test_stored_json_field_by_field() -> None:
    stored = json.loads(json.dumps(_decision().as_dict()))
    assert stored == {
        "tier": "basic",
        "profile": "max_sharpe",
        "method": "max_sharpe",
        "weights": {"A": "0.2", "B": "0.15"},
        "cash_weight": "0.65",
        "performance": {"expected_return": 0.123457, "volatility": 0.2, "sharpe": 0.5},
        "equal_weight": {
            "weights": {"A": "0.2", "B": "0.2"},
            "cash_weight": "0.6",
            "performance": {"expected_return": 0.1, "volatility": 0.0, "sharpe": None},  # NaN -> 0
        },
        "reasons": {"A": "in", "B": "in", "C": "out"},
        "summary": "two tokens",
        "note": "a note",
        "inputs": {"days": 90},
    }


def test_a_weight_within_solver_tolerance_of_the_cap_is_the_cap() -> None:
    """0.349999 at a binding 35 % cap read as "34.9999%"; two quanta below the cap snap up, three
    stay, and anything above is the cap."""
    from decimal import Decimal as D

    from core.optimizer.decision import quantise_weights as q

    assert q({"A": 0.3499991, "B": 0.2}, 0.35, 0.01) == {"A": D("0.35"), "B": D("0.2")}
    assert q({"A": 0.3499981}, 0.35, 0.01) == {"A": D("0.35")}  # floors to 0.349998: two quanta
    assert q({"A": 0.3499975}, 0.35, 0.01) == {"A": D("0.349997")}
    assert q({"A": 0.3500004}, 0.35, 0.01) == {"A": D("0.35")}
