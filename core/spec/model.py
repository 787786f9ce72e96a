"""``StrategySpec``: the declarative contract between the parser (issue 4) and the backtester.

Conventions:

* All fractions are decimal fractions (0.05 = 5 %), all APRs annualised fractions, all windows and
  lookbacks are in days (the only backtestable timeframe is ``1d``).
* Assets are upper-case tickers (``BTC``, ``ETH``); lending markets are ``protocol:SYMBOL``
  (``aave_v2:USDC``, ``compound:USDC``, ``aave_v3:USDC``), protocol from :class:`LendingProtocol`.
* The model is strict (``extra="forbid"``, closed enums, bounded numbers). Build specs with
  :func:`core.spec.load_spec`, which turns every problem into a :class:`SpecError` naming the field.
* Rule strings are validated by :mod:`core.spec.rules` and stored in canonical form, so two specs
  that differ only in rule spacing hash the same.
* Floats are fine here: a spec describes a simulation, never a ledger amount.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from core.spec.base import Fraction, _FieldError, _Strict
from core.spec.risk import (
    ReentryRule,
    Risk,
    Sizing,
    SizingMethod,
)
from core.spec.rules import TICKER_RE, RuleError, parse_rule

SPEC_VERSION = "1.0"


class Family(StrEnum):
    MA_CROSSOVER = "ma_crossover"
    MOMENTUM = "momentum"
    MEAN_REVERSION = "mean_reversion"
    BREAKOUT = "breakout"
    PAIR_RATIO = "pair_ratio"
    YIELD_ROTATION = "yield_rotation"
    LENDING = "lending"
    LEVERAGED_LENDING = "leveraged_lending"
    LIQUIDITY_PROVISION = "liquidity_provision"
    STAKING = "staking"
    INDEX = "index"
    MULTI_STRATEGY = "multi_strategy"
    OTHER = "other"


#: Families whose entry/exit are rule expressions over prices.
RULE_FAMILIES = frozenset({Family.MA_CROSSOVER, Family.MEAN_REVERSION, Family.BREAKOUT, Family.PAIR_RATIO})
#: Families the engine can simulate honestly on daily prices and lending rates.
BACKTESTABLE_FAMILIES = RULE_FAMILIES | {
    Family.MOMENTUM,
    Family.YIELD_ROTATION,
    Family.LENDING,
    Family.INDEX,
}


class UnsupportedFeature(StrEnum):
    """What a strategy needs that a daily price/rate simulation cannot model honestly."""

    LEVERAGE = "leverage"
    FLASH_LOANS = "flash_loans"
    LP_FEES = "lp_fees"
    IMPERMANENT_LOSS = "impermanent_loss"
    OFF_CHAIN_EVENTS = "off_chain_events"
    OPTIONS = "options"
    FUTURES = "futures"
    SHORTING = "shorting"
    CROSS_CHAIN = "cross_chain"
    GOVERNANCE = "governance"
    DISCRETIONARY = "discretionary"
    STAKING_REWARDS = "staking_rewards"
    TOKEN_INCENTIVES = "token_incentives"
    INTRADAY = "intraday"
    ORDER_BOOK = "order_book"
    NFT = "nft"
    MISSING_DATA = "missing_data"
    OTHER = "other"


class LendingProtocol(StrEnum):
    AAVE_V1 = "aave_v1"
    AAVE_V2 = "aave_v2"
    AAVE_V3 = "aave_v3"
    COMPOUND = "compound"
    COMPOUND_V3 = "compound_v3"
    SPARK = "spark"
    MORPHO = "morpho"


class QuoteCurrency(StrEnum):
    USD = "USD"
    USDT = "USDT"
    USDC = "USDC"
    DAI = "DAI"


class Timeframe(StrEnum):
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"
    W1 = "1w"


class Rebalance(StrEnum):
    """How often allocations are recomputed. ``on_signal``: trade only when a rule flips."""

    ON_SIGNAL = "on_signal"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class PairMode(StrEnum):
    CASH = "cash"  # signal off -> hold cash (parked in idle_cash_market if set)
    DENOMINATOR = "denominator"  # signal off -> hold the denominator asset


_MARKET_RE = re.compile(r"^([a-z][a-z0-9_]*):([A-Z][A-Z0-9.]{1,9})$")


def _ticker(value: str) -> str:
    if not TICKER_RE.match(value):
        raise ValueError(f"{value!r} is not an upper-case ticker like BTC or ETH")
    return value


#: The 3-month US T-bill as a cash market (a tokenized-treasury stand-in): idle cash parked there
#: earns the data's risk-free yield, so it adds no excess return. Only valid as ``idle_cash_market``.
TBILL_MARKET = "tbill:USD"


def _market(value: str) -> str:
    if value == TBILL_MARKET:
        return value
    match = _MARKET_RE.match(value)
    protocols = ", ".join(p.value for p in LendingProtocol)
    if not match:
        raise ValueError(
            f"{value!r} is not a lending market like aave_v2:USDC ({protocols}) or {TBILL_MARKET}"
        )
    if match.group(1) not in {p.value for p in LendingProtocol}:
        raise ValueError(
            f"unknown lending protocol {match.group(1)!r}; one of {protocols} "
            f"(or {TBILL_MARKET}, the T-bill leg)"
        )
    return value


Ticker = Annotated[str, StringConstraints(min_length=2, max_length=10), AfterValidator(_ticker)]
MarketId = Annotated[
    str,
    StringConstraints(min_length=4, max_length=32),
    AfterValidator(_market),
    Field(description="lending market protocol:SYMBOL, e.g. aave_v2:USDC"),
]
Text = Annotated[str, StringConstraints(max_length=2000)]
Quote = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


def _unique(values: list[str], what: str) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} must not repeat")
    return values


class Universe(_Strict):
    assets: list[Ticker] = Field(default_factory=list, max_length=20, description="traded assets")
    signal_assets: list[Ticker] = Field(
        default_factory=list, max_length=10, description="assets read by rules but never traded"
    )
    lending_markets: list[MarketId] = Field(default_factory=list, max_length=10)

    @field_validator("assets", "signal_assets", "lending_markets")
    @classmethod
    def _no_repeats(cls, v: list[str]) -> list[str]:
        return _unique(v, "entries")


class MomentumSettings(_Strict):
    lookback_days: int = Field(default=30, ge=2, le=365)
    top_k: int = Field(default=1, ge=1, le=20)
    min_return: float | None = Field(
        default=None,
        ge=-1,
        le=10,
        allow_inf_nan=False,
        description="absolute momentum filter: hold only assets whose lookback return exceeds this",
    )


class PairSettings(_Strict):
    numerator: Ticker
    denominator: Ticker
    when_off: PairMode = PairMode.CASH

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.numerator == self.denominator:
            raise ValueError("numerator and denominator must differ")
        return self


class YieldRotationSettings(_Strict):
    markets: list[MarketId] = Field(min_length=2, max_length=10)
    hysteresis_apr: float = Field(
        default=0.005,
        ge=0,
        le=0.2,
        allow_inf_nan=False,
        description="switch only when another market's APR beats the current one by this much",
    )
    switching_cost: float = Field(
        default=0.0005,
        ge=0,
        le=0.05,
        allow_inf_nan=False,
        description="fraction of capital lost per switch",
    )
    min_hold_days: int = Field(default=1, ge=0, le=365)

    @field_validator("markets")
    @classmethod
    def _no_repeats(cls, v: list[str]) -> list[str]:
        return _unique(v, "markets")


class IndexSettings(_Strict):
    weights: dict[Ticker, Fraction] = Field(min_length=1, max_length=20)

    @field_validator("weights")
    @classmethod
    def _sum(cls, v: dict[str, float]) -> dict[str, float]:
        if sum(v.values()) > 1.0 + 1e-9:
            raise ValueError(f"weights sum to {sum(v.values()):.4f}; they must sum to at most 1")
        return dict(sorted(v.items()))


def _rule(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_rule(value).text
    except RuleError as exc:  # pydantic only wraps ValueError; keep the field location
        raise ValueError(exc.message) from None


RuleText = Annotated[str | None, AfterValidator(_rule)]


class StrategySpec(_Strict):
    """A strategy, declaratively. See the module docstring for units and conventions."""

    spec_version: Literal["1.0"] = "1.0"
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    description: Text = ""
    family: Family
    universe: Universe = Field(default_factory=Universe)
    quote_currency: QuoteCurrency = QuoteCurrency.USD
    timeframe: Timeframe = Timeframe.D1
    rebalance: Rebalance = Rebalance.ON_SIGNAL
    entry_rule: RuleText = Field(default=None, description="rule language, see core.spec.rules")
    exit_rule: RuleText = Field(default=None, description="None: exit when entry_rule turns false")
    sizing: Sizing = Sizing()  # frozen, so a shared default is safe
    risk: Risk = Risk()
    momentum: MomentumSettings | None = None
    pair: PairSettings | None = None
    yield_rotation: YieldRotationSettings | None = None
    index: IndexSettings | None = None
    idle_cash_market: MarketId | None = Field(default=None, description="where uninvested cash earns APR")
    backtestable: bool = True
    unsupported_features: list[UnsupportedFeature] = Field(default_factory=list, max_length=18)
    unsupported_reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    evidence: list[Quote] = Field(default_factory=list, max_length=20)
    source_ref: Annotated[str, StringConstraints(max_length=500)] | None = None

    @field_validator("unsupported_features")
    @classmethod
    def _features_sorted(cls, v: list[UnsupportedFeature]) -> list[UnsupportedFeature]:
        return sorted(set(v), key=lambda f: f.value)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_backtestable(self)
        if not self.backtestable:
            return self
        family = self.family
        assets = set(self.universe.assets)
        needs_assets = family in RULE_FAMILIES or family in (Family.MOMENTUM, Family.INDEX)
        if needs_assets and not assets:
            raise _FieldError("universe.assets", f"family {family.value} needs traded assets")
        if family in RULE_FAMILIES and self.entry_rule is None:
            raise _FieldError("entry_rule", f"family {family.value} needs an entry_rule")
        readable = assets | set(self.universe.signal_assets)
        for fld in ("entry_rule", "exit_rule"):
            text = getattr(self, fld)
            if text is not None:
                missing = sorted(parse_rule(text).assets - readable)
                if missing:
                    raise _FieldError(fld, f"rule reads {', '.join(missing)}, not in the universe")
        if family is Family.MOMENTUM and self.momentum is None:
            raise _FieldError("momentum", "family momentum needs momentum settings")
        if family is Family.PAIR_RATIO:
            if self.pair is None:
                raise _FieldError("pair", "family pair_ratio needs pair settings")
            if {self.pair.numerator, self.pair.denominator} - readable:
                raise _FieldError("pair", "pair assets must be in universe.assets/signal_assets")
        if family is Family.YIELD_ROTATION and self.yield_rotation is None:
            raise _FieldError("yield_rotation", "family yield_rotation needs its settings")
        has_market = bool(self.universe.lending_markets or self.idle_cash_market)
        if family is Family.LENDING and not has_market:
            raise _FieldError("universe.lending_markets", "family lending needs a lending market")
        if family is Family.INDEX:
            if self.index is None:
                raise _FieldError("index", "family index needs index weights")
            extra = sorted(set(self.index.weights) - assets)
            if extra:
                raise _FieldError("index.weights", f"{', '.join(extra)} not in universe.assets")
        _check_risk_tools(self)
        if self.timeframe is not Timeframe.D1:
            raise _FieldError(
                "timeframe",
                "only 1d strategies can be backtested; otherwise set backtestable to false "
                "and list the unsupported feature intraday",
            )
        return self


#: Families whose held assets can be sized by volatility (index keeps its stated weights).
VOL_TARGET_FAMILIES = frozenset(
    {Family.MA_CROSSOVER, Family.MEAN_REVERSION, Family.BREAKOUT, Family.PAIR_RATIO, Family.MOMENTUM}
)


def _check_risk_tools(spec: StrategySpec) -> None:
    """Volatility targeting, the drawdown stop and the T-bill leg, where they make sense."""
    family = spec.family
    if spec.sizing.method is SizingMethod.VOLATILITY_TARGET and family not in VOL_TARGET_FAMILIES:
        names = ", ".join(sorted(f.value for f in VOL_TARGET_FAMILIES))
        raise _FieldError(
            "sizing.method",
            f"volatility_target sizes traded assets of families {names}; family {family.value} "
            "cannot use it (use fixed_fraction)",
        )
    lending = family in (Family.LENDING, Family.YIELD_ROTATION)
    if spec.risk.max_drawdown_stop is not None and lending:
        raise _FieldError(
            "risk.max_drawdown_stop", f"family {family.value} holds no assets to sell; remove the stop"
        )
    reentry = spec.risk.reentry
    if reentry is not None and reentry.rule is ReentryRule.SIGNAL and family is Family.INDEX:
        raise _FieldError(
            "risk.reentry",
            "family index always wants its weights, so rule signal would never re-enter; use "
            '{"rule": "cooldown", "days": 30}',
        )
    markets = [*spec.universe.lending_markets]
    if spec.yield_rotation is not None:
        markets += spec.yield_rotation.markets
    if TBILL_MARKET in markets:
        raise _FieldError(
            "universe.lending_markets",
            f"{TBILL_MARKET} is the T-bill cash leg, not a lending market; name it in idle_cash_market",
        )


def _check_backtestable(spec: StrategySpec) -> None:
    if not spec.backtestable:
        return
    if spec.family not in BACKTESTABLE_FAMILIES:
        raise _FieldError(
            "backtestable",
            f"family {spec.family.value} cannot be simulated honestly; set backtestable to false",
        )
    if spec.unsupported_features:
        names = ", ".join(f.value for f in spec.unsupported_features)
        raise _FieldError("backtestable", f"spec lists unsupported features ({names})")
