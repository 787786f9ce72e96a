"""Wallet allocation: mean-variance (PyPortfolioOpt) on Ledoit-Wolf covariance, tiers, reasons.

Public API: :func:`suggest` (NAV table -> :class:`Decision`), :class:`OptimizerConfig`,
:class:`RiskProfile`, :class:`Tier`, :func:`max_tokens`, :data:`AI_TIERS`.
Pure: no database, no I/O.
Weights are exact ``Decimal`` fractions (see :mod:`core.optimizer.decision`); statistics are
annualised floats over a 365-day year.
"""

from core.optimizer.config import (
    AI_TIERS,
    DEFAULT_CONFIG,
    DEFAULT_PROFILE,
    PROFILE_MAX_WEIGHT,
    OptimizerConfig,
    RiskProfile,
    Tier,
    max_tokens,
)
from core.optimizer.decision import WEIGHT_QUANTUM, Alternative, Decision, Performance
from core.optimizer.engine import suggest

__all__ = [
    "AI_TIERS",
    "DEFAULT_CONFIG",
    "DEFAULT_PROFILE",
    "PROFILE_MAX_WEIGHT",
    "WEIGHT_QUANTUM",
    "Alternative",
    "Decision",
    "OptimizerConfig",
    "Performance",
    "RiskProfile",
    "Tier",
    "max_tokens",
    "suggest",
]
