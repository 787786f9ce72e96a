"""The birth gate: a report of named checks, each pass/fail with its number.

Checks (thresholds from :class:`core.config.Settings`; the first three are the product brief's):

=================  =====================================================================
``history``        the backtest covers at least ``gate_min_days`` days (180)
``excess_sharpe``  annualised Sharpe of returns over the risk-free rate > ``gate_min_sharpe`` (1.5)
``max_drawdown``   largest peak-to-trough fall < ``gate_max_drawdown`` (15 %)
``deflated_sharpe`` DSR >= ``gate_min_dsr`` (0.95) with the real number of trials
``walk_forward``   the variant chosen in sample has an out-of-sample excess Sharpe
                   > ``gate_min_oos_sharpe`` (0: it must at least beat T-bills unseen)
``overfitting``    PBO by CSCV < ``gate_max_pbo`` (0.5); not applicable with fewer than 2 variants
=================  =====================================================================

A check that cannot be computed (``passed`` None) says why and does not pass the gate, except
``overfitting`` with a single variant, which is not applicable. The report also carries the trial
counts, the risk-free rate used and (once paper trading is decided) how the candidate was proved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from backtest.gate.walkforward import WalkForward, walk_forward
from backtest.metrics import PboResult
from core.config import Settings, get_settings
from core.formatting import count, percent, ratio

NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class GateCheck:
    name: str
    label: str
    value: float | None
    threshold: float
    comparison: str  # ">", ">=", "<"
    passed: bool | None  # None: could not be computed (or not applicable, see ``applicable``)
    detail: str
    applicable: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "passed": self.passed,
            "applicable": self.applicable,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class GateReport:
    checks: tuple[GateCheck, ...]
    trials_text: int  # variants tried for this text (1 for a lone backtest)
    trials_total: int  # trials ever made by the pipeline (the DSR's N)
    risk_free: dict[str, Any]
    walk: dict[str, Any] | None = None
    pbo: dict[str, Any] | None = None
    proof: str | None = None  # "forward" | "replay" once paper trading is chosen
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed is True or not c.applicable for c in self.checks)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(c.detail for c in self.checks if c.applicable and c.passed is not True)

    def with_proof(self, mode: str) -> GateReport:
        return replace(self, proof=mode)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "checks": [c.to_json() for c in self.checks],
            "trials_text": self.trials_text,
            "trials_total": self.trials_total,
            "risk_free": dict(self.risk_free),
            "walk_forward": self.walk,
            "pbo": self.pbo,
            "proof": self.proof,
            **self.extra,
        }


def _check(
    name: str, label: str, value: float | None, threshold: float, comparison: str, text: str
) -> GateCheck:
    if value is None:
        return GateCheck(name, label, None, threshold, comparison, None, f"{label}: could not be computed")
    passed = {">": value > threshold, ">=": value >= threshold, "<": value < threshold}[comparison]
    verdict = "passes" if passed else "fails"
    return GateCheck(name, label, value, threshold, comparison, passed, f"{text} ({verdict})")


def evaluate_gate(
    metrics: Mapping[str, Any],
    settings: Settings | None = None,
    *,
    trials_text: int = 1,
    trials_total: int = 1,
    walk: WalkForward | None = None,
    pbo: PboResult | None = None,
    risk_free: Mapping[str, Any] | None = None,
    dsr_text: float | None = None,
) -> GateReport:
    """The gate report for a backtest's metrics (``days``, ``sharpe``, ``max_drawdown``, ``dsr``)."""
    s = settings or get_settings()
    days, sharpe, mdd, dsr = (metrics.get(k) for k in ("days", "sharpe", "max_drawdown", "dsr"))
    checks = [
        _check("history", "history", days, s.gate_min_days, ">=",
               f"{count(days or 0)} days of history, needs at least {count(s.gate_min_days)}"),
        _check("excess_sharpe", "excess Sharpe", sharpe, s.gate_min_sharpe, ">",
               f"excess Sharpe {ratio(sharpe or 0)} over the risk-free rate, "
               f"needs above {ratio(s.gate_min_sharpe)}"),
        _check("max_drawdown", "max drawdown", mdd, s.gate_max_drawdown, "<",
               f"max drawdown {percent(mdd or 0, 1)}, needs below {percent(s.gate_max_drawdown, 1)}"),
        _check("deflated_sharpe", "deflated Sharpe", dsr, s.gate_min_dsr, ">=",
               f"deflated Sharpe {ratio(dsr or 0, 3)} with {count(trials_total)} trial(s) overall"
               + _text_dsr(dsr_text, trials_text) + f", needs at least {ratio(s.gate_min_dsr)}"),
        _walk_check(walk, s),
        _pbo_check(pbo, trials_text, s),
    ]  # fmt: skip
    return GateReport(
        tuple(checks),
        trials_text,
        trials_total,
        dict(risk_free or {}),
        walk.to_json() if walk else None,
        _pbo_json(pbo),
    )


def _text_dsr(dsr_text: float | None, trials_text: int) -> str:
    if dsr_text is None:
        return ""
    return f" ({ratio(dsr_text, 3)} counting only this text's {count(trials_text)} variant(s))"


def _walk_check(walk: WalkForward | None, s: Settings) -> GateCheck:
    label = "walk-forward"
    if walk is None:
        why = f"{label}: the window is too short to split into in-sample and out-of-sample days"
        return GateCheck("walk_forward", label, None, s.gate_min_oos_sharpe, ">", None, why)
    inside, outside = walk.in_sample, walk.out_of_sample
    text = (
        f"walk-forward: {walk.chosen_name} chosen on {inside[0]}..{inside[1]} (excess Sharpe "
        f"{ratio(walk.in_sample_sharpe)}) has excess Sharpe {ratio(walk.out_of_sample_sharpe)} on the "
        f"unseen {outside[0]}..{outside[1]}, needs above {ratio(s.gate_min_oos_sharpe)}"
    )
    return _check("walk_forward", label, walk.out_of_sample_sharpe, s.gate_min_oos_sharpe, ">", text)


def _pbo_check(pbo: PboResult | None, variants: int, s: Settings) -> GateCheck:
    label = "overfitting (PBO)"
    if pbo is None:
        why = "fewer than 2 variants" if variants < 2 else "too few days to partition"
        return GateCheck("overfitting", label, None, s.gate_max_pbo, "<", None,
                         f"{label}: {NOT_APPLICABLE} ({why})", applicable=variants >= 2)  # fmt: skip
    text = (
        f"probability of backtest overfitting {percent(pbo.pbo, 1)} over {count(pbo.trials)} variants "
        f"({count(pbo.combinations)} CSCV splits), needs below {percent(s.gate_max_pbo, 0)}"
    )
    return _check("overfitting", label, pbo.pbo, s.gate_max_pbo, "<", text)


def _pbo_json(pbo: PboResult | None) -> dict[str, Any] | None:
    if pbo is None:
        return None
    return {
        "pbo": round(pbo.pbo, 6),
        "combinations": pbo.combinations,
        "partitions": pbo.partitions,
        "variants": pbo.trials,
        "days": pbo.days_used,
        "median_logit": round(pbo.median_logit, 6),
    }


__all__ = ["GateCheck", "GateReport", "WalkForward", "evaluate_gate", "walk_forward"]
