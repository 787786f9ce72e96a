"""How much a strategy invests and how it limits losses: ``Sizing`` and ``Risk`` (issue 15's
volatility targeting and drawdown stop live here). Units: fractions of equity, annual volatilities
as decimals (0.10 = 10 %), windows in days."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from core.spec.base import Fraction, _default, _FieldError, _Strict


class SizingMethod(StrEnum):
    FIXED_FRACTION = "fixed_fraction"  # each active asset gets fraction / number of traded assets
    EQUAL_WEIGHT = "equal_weight"  # active assets share fraction equally (only the active ones)
    # each held asset's slot (1 / traded assets; 1 / top_k for momentum; 1 for a pair) is scaled by
    # min(max_leverage, target_vol / realised volatility of the asset's own past returns)
    VOLATILITY_TARGET = "volatility_target"


class ReentryRule(StrEnum):
    """How a strategy halted by ``risk.max_drawdown_stop`` comes back."""

    COOLDOWN = "cooldown"  # after ``days`` days in cash, on the next rebalance day
    SIGNAL = "signal"  # when its rules want a position again after having wanted none once


#: Default exposure cap: the largest sum of target weights. The rest (3 %) is a cash buffer so buys
#: still fill after commission, slippage and an overnight gap (orders are sized on today's close and
#: fill at tomorrow's open); a spec may raise it to 1.0 and accept rejected buys on gap-up days.
DEFAULT_MAX_EXPOSURE = 0.97


#: Default lookback of volatility targeting: 30 daily returns (about a month of crypto trading).
DEFAULT_VOL_LOOKBACK = 30


class Sizing(_Strict):
    """How much of equity a strategy invests.

    ``volatility_target`` (Moskowitz, Ooi & Pedersen 2012; Harvey et al. 2018): a held asset's
    weight is its slot times ``min(max_leverage, target_vol / vol)`` where ``vol`` is the sample
    standard deviation of its last ``lookback_days`` daily simple returns up to and including the
    decision bar's close, times sqrt(365) (the annualisation of :mod:`backtest.metrics`). ``fraction``
    is not used by it; the exposure cap still applies to the sum. ``rebalance_band`` keeps a held
    position's weight until its target moves by more than that fraction of it (fewer, larger trades).
    """

    method: SizingMethod = SizingMethod.FIXED_FRACTION
    fraction: Fraction = Field(default=0.95, description="share of equity invested when fully in")
    max_exposure: Fraction = Field(
        default=DEFAULT_MAX_EXPOSURE,
        description="exposure cap: targets summing to more are scaled down to this share of equity "
        "(default 0.97 keeps a cash buffer for costs and overnight gaps)",
    )
    target_vol: float | None = Field(
        default=None,
        gt=0,
        le=2,
        allow_inf_nan=False,
        description="volatility_target: annualised volatility each held asset is sized to (0.10 = 10 %)",
    )
    lookback_days: int = Field(
        default=DEFAULT_VOL_LOOKBACK,
        ge=5,
        le=365,
        description="volatility_target: daily returns in the realised-volatility estimate",
    )
    rebalance_band: float = Field(
        default=0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="volatility_target: re-size a held position only when its target moves by more "
        "than this fraction of its current weight (0.2 = 20 %; 0 = on every change)",
    )
    max_leverage: float = Field(
        default=1.0,
        gt=0,
        allow_inf_nan=False,
        description="volatility_target: largest scale of a slot (at most 1: the engine never borrows)",
    )

    @field_validator("max_leverage")
    @classmethod
    def _no_borrowing(cls, value: float) -> float:
        if value > 1.0:
            raise ValueError(
                f"{value:g} would borrow; use at most 1 (the engine never borrows). A strategy that "
                "needs leverage sets backtestable to false and lists the unsupported feature leverage"
            )
        return value

    @model_validator(mode="after")
    def _vol_fields(self) -> Self:
        targeted = self.method is SizingMethod.VOLATILITY_TARGET
        if targeted and self.target_vol is None:
            raise _FieldError(
                "sizing.target_vol",
                "method volatility_target needs target_vol, the annual volatility to aim for "
                "(e.g. 0.10 for 10 %)",
            )
        if not targeted and self.target_vol is not None:
            raise _FieldError(
                "sizing.target_vol",
                f"only used by method volatility_target; set method to volatility_target or remove "
                f"target_vol (method is {self.method.value})",
            )
        # Compared with the defaults (not "was it given"): a full dump of any spec reloads.
        names = ("lookback_days", "max_leverage", "rebalance_band")
        changed = [n for n in names if getattr(self, n) != _default(Sizing, n)]
        if not targeted and changed:
            raise _FieldError(f"sizing.{changed[0]}", "only used by method volatility_target; remove it")
        return self


class DrawdownReentry(_Strict):
    """The re-entry rule after ``risk.max_drawdown_stop`` (see :class:`ReentryRule`)."""

    rule: ReentryRule
    days: int = Field(default=30, ge=1, le=365, description="cooldown: days in cash before re-entry")

    @model_validator(mode="after")
    def _days_for_cooldown(self) -> Self:
        if self.rule is ReentryRule.SIGNAL and self.days != _default(DrawdownReentry, "days"):
            raise _FieldError("risk.reentry.days", "only used by rule cooldown; remove days for rule signal")
        return self


class Risk(_Strict):
    """Per-asset stops (fractions of the entry price / peak close) and the strategy drawdown stop.

    ``max_drawdown_stop``: when the strategy's equity at a close is this fraction or more below its
    peak since the start (or the last re-entry), every position is sold at the next open and the
    strategy stays in cash (idle cash still earns its market) until ``reentry`` lets it back in.
    """

    stop_loss: float | None = Field(default=None, gt=0, le=0.9, allow_inf_nan=False)
    take_profit: float | None = Field(default=None, gt=0, le=10, allow_inf_nan=False)
    trailing_stop: float | None = Field(default=None, gt=0, le=0.9, allow_inf_nan=False)
    max_drawdown_stop: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="go to cash when equity falls this fraction below its peak (0.10 = 10 %)",
    )
    reentry: DrawdownReentry | None = Field(
        default=None,
        description='after max_drawdown_stop: {"rule": "cooldown", "days": 30} or {"rule": "signal"}',
    )

    @model_validator(mode="after")
    def _reentry(self) -> Self:
        if self.max_drawdown_stop is not None and self.reentry is None:
            raise _FieldError(
                "risk.reentry",
                'max_drawdown_stop needs a re-entry rule: {"rule": "cooldown", "days": 30} '
                'or {"rule": "signal"}',
            )
        if self.max_drawdown_stop is None and self.reentry is not None:
            raise _FieldError(
                "risk.reentry", "only used with max_drawdown_stop; set it (e.g. 0.10) or remove reentry"
            )
        return self
