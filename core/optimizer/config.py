"""Optimizer configuration, tiers and risk profiles.

Units and conventions:

* Weights are fractions of a wallet's value (0.20 = 20 %); the cash weight is ``1 - sum(weights)``.
* Returns and volatilities are annualised fractions over a 365-day year (crypto trades every day).
* Expected returns blend the full history with the last 7/30/90 days (``blend``); the blend weights
  must be non-negative and sum to 1. Defaults: full history 0.4, 90 days 0.3, 30 days 0.2,
  7 days 0.1 — long history dominates, recent regimes tilt it.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Tier(StrEnum):
    """Subscription tiers (DESIGN "Wallet optimizer")."""

    FREE = "free"  # manual only, at most 3 tokens
    BASIC = "basic"  # AI modes, at most 10 tokens
    PREMIUM = "premium"  # unlimited tokens, custom risk profile


#: Maximum number of tokens a wallet of each tier may hold (None = unlimited).
TIER_MAX_TOKENS: dict[Tier, int | None] = {Tier.FREE: 3, Tier.BASIC: 10, Tier.PREMIUM: None}
#: Tiers whose wallets may run the AI modes (full_ai / hybrid).
AI_TIERS: frozenset[Tier] = frozenset({Tier.BASIC, Tier.PREMIUM})


def max_tokens(tier: Tier) -> int | None:
    return TIER_MAX_TOKENS[tier]


#: A Premium profile's own per-token cap: at least 5 % (a cap of c needs ceil(1/c) eligible
#: tokens to be fully invested — 20 at 5 % — and fewer leave the rest in cash, which the solve
#: handles) and at most 20 %, the platform's cap per token in any AI allocation (DESIGN "Platform
#: risk"): a profile may only tighten it.
PROFILE_MAX_WEIGHT: tuple[float, float] = (0.05, 0.20)


class RiskProfile(BaseModel):
    """How the optimizer trades return against risk.

    ``max_sharpe`` (default, every tier): the tangency portfolio. Premium wallets may instead pick
    ``risk_aversion`` (maximise ``mu'w - delta/2 w'Sigma w``; higher delta = more cash, less
    risk) or ``target_volatility`` (maximise return at an annualised volatility of at most the
    target; the rest in cash). Premium wallets may also set ``max_weight``, their own per-token
    cap in place of :attr:`OptimizerConfig.max_weight`, with any objective.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["max_sharpe", "risk_aversion", "target_volatility"] = "max_sharpe"
    risk_aversion: float = Field(default=2.0, gt=0.0, le=1000.0)
    target_volatility: float = Field(default=0.25, gt=0.0, le=5.0)
    #: The wallet's own per-token cap (None = the configured one). Stored profiles omit it when
    #: unset (``model_dump(exclude_none=True)``), so profiles saved before it read the same.
    max_weight: float | None = Field(default=None, ge=PROFILE_MAX_WEIGHT[0], le=PROFILE_MAX_WEIGHT[1])

    def is_custom(self) -> bool:
        """Anything but the default (a Premium feature)."""
        return self.kind != "max_sharpe" or self.max_weight is not None

    def key(self) -> str:
        """A stable string identifying the profile (used to cache one solve per profile)."""
        if self.kind == "risk_aversion":
            base = f"risk_aversion:{self.risk_aversion:g}"
        elif self.kind == "target_volatility":
            base = f"target_volatility:{self.target_volatility:g}"
        else:
            base = "max_sharpe"
        return base if self.max_weight is None else f"{base}|max_weight:{self.max_weight:g}"

    def describe(self) -> str:
        if self.kind == "risk_aversion":
            text = f"mean-variance utility with risk aversion {self.risk_aversion:g}"
        elif self.kind == "target_volatility":
            text = f"highest return at volatility <= {self.target_volatility:.0%}/yr"
        else:
            text = "maximum Sharpe ratio"
        return text if self.max_weight is None else f"{text}, at most {self.max_weight:.0%} per token"


DEFAULT_PROFILE = RiskProfile()


class OptimizerConfig(BaseModel):
    """Tunable optimizer parameters; defaults follow DESIGN.md "Wallet optimizer"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Blend of annualised mean returns: "full" = the whole history, "N" = the last N days.
    blend: dict[str, float] = Field(
        default_factory=lambda: {"full": 0.4, "90": 0.3, "30": 0.2, "7": 0.1}
    )
    max_weight: float = Field(default=0.20, gt=0.0, le=1.0)
    #: Optimizer weights below this are dropped to cash (not worth a trade).
    min_weight: float = Field(default=0.005, ge=0.0, lt=0.2)
    #: Days per year for annualisation.
    frequency: int = Field(default=365, ge=1)
    risk_free_rate: float = Field(default=0.0, ge=-0.5, le=0.5)
    #: A token needs at least this many daily returns to be eligible.
    min_history_days: int = Field(default=30, ge=2)
    #: Covariance uses at most this many most recent common days.
    cov_lookback_days: int = Field(default=365, ge=10)
    #: When fewer than 1/max_weight tokens are eligible, max-Sharpe cannot be fully invested; this
    #: risk aversion is used instead, with the rest in cash.
    fallback_risk_aversion: float = Field(default=2.0, gt=0.0)
    #: cvxpy solver (None = PyPortfolioOpt's default).
    solver: str | None = None

    @field_validator("blend")
    @classmethod
    def _check_blend(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("blend needs at least one window")
        for key, weight in value.items():
            if key != "full" and not (key.isdigit() and int(key) >= 2):
                raise ValueError(f"blend window {key!r} must be 'full' or a number of days >= 2")
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"blend weight for {key!r} must be a non-negative number")
        if abs(sum(value.values()) - 1.0) > 1e-9:
            raise ValueError("blend weights must sum to 1")
        return value

    @model_validator(mode="after")
    def _check_bounds(self) -> OptimizerConfig:
        if self.min_weight >= self.max_weight:
            raise ValueError("min_weight must be below max_weight")
        return self

    def min_full_tokens(self) -> int:
        """Fewest tokens that can be fully invested under the per-token cap (5 at 20 %)."""
        return math.ceil(1.0 / self.max_weight - 1e-9)


DEFAULT_CONFIG = OptimizerConfig()
