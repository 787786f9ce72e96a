"""Wallet rebalancing settings (a pydantic model; defaults documented here).

Units: ``min_trade`` in USD; ``cost_rate`` is a fraction of each trade's notional (0.001 = 10 bp)
charged in cash to ``platform:trading_costs``; ``drift_threshold`` a fraction (0.10 = 10 %) of
wallet value (drift = half the L1 distance between current and target weights, cash included);
``proposal_ttl_hours`` in hours.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from core.optimizer import DEFAULT_CONFIG, OptimizerConfig


class WalletConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Rebalance when the drift from the last target exceeds this, even before the weekly date.
    drift_threshold: Decimal = Field(default=Decimal("0.10"), gt=0, le=1)
    #: Trades smaller than this (USD) are skipped: their costs outweigh the benefit.
    min_trade: Decimal = Field(default=Decimal("25"), ge=0)
    #: Trading cost charged per trade, as a fraction of notional (10 bp default).
    cost_rate: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.1"))
    #: Hybrid proposals expire after this many hours.
    proposal_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    optimizer: OptimizerConfig = DEFAULT_CONFIG


DEFAULT_WALLET_CONFIG = WalletConfig()
