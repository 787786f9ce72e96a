"""Statement performance: the wallets' return, the T-bill's and an equal-weight basket's.

* **Wallet return** is the Modified Dietz return of the month: ``(V1 - V0 - F) / (V0 + sum w_i F_i)``
  with ``V0``/``V1`` the value at the open and the close, ``F`` the net external flows (deposits in,
  withdrawals out: transactions against the outside world, ``external:cash``) and ``w_i`` the share
  of the period left after flow ``i`` (by seconds). Everything else — fees, plan charges, trading
  costs, distributions, bounty income — is part of the return. ``None`` when the denominator is not
  positive (nothing was invested).
* **T-bill return** follows :mod:`backtest.data.riskfree`: an annual decimal investment yield per
  calendar day, each day earning ``yield / 365``; the step from day ``d`` to ``d + 1`` earns the
  yield known on ``d``, compounded over the period's days. Days without a rate (outside the series'
  span; it is never extended) earn 0 and are counted. Core never reads rate files: the composition
  root passes a :class:`RiskFreeRates` (or none, and the statement says so).
* **Equal weight** is the mean of the period's returns of every token that was live (activated,
  units circulating) at both the open and the close, NAV to NAV: a basket bought in equal parts at
  the open, held without costs.

Returns are fractions (0.0123 = 1.23 %), ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.money import ZERO, div, mul

DAYS_PER_YEAR = Decimal(365)
ZERO_RATE_NAME = "none (synthetic market): 0 %"


@dataclass(frozen=True, slots=True)
class RiskFreeRates:
    """Annual decimal yields per UTC calendar day (0.045 = 4.5 %), only inside the series' span."""

    name: str
    yields: Mapping[date, Decimal]
    convention: str = "annual decimal yield; each day earns yield/365, compounded daily"


def zero_rates(name: str = ZERO_RATE_NAME) -> RiskFreeRates:
    """No risk-free rate (the synthetic market): every day earns 0 and the name says why."""
    return RiskFreeRates(name, {}, "0 % on every day")


def tbill_return(rates: RiskFreeRates, start: date, end: date) -> tuple[Decimal, int]:
    """Compounded return from the start of ``start`` to the start of ``end`` and the days without a
    rate (0 when ``rates`` is the zero series, which has no rate by design)."""
    growth = Decimal(1)
    missing = 0
    day = start
    while day < end:
        y = rates.yields.get(day)
        if y is None:
            missing += 1 if rates.yields else 0
        else:
            growth = mul(growth, 1 + div(y, DAYS_PER_YEAR))
        day += timedelta(days=1)
    return growth - 1, missing


def modified_dietz(
    opening: Decimal,
    closing: Decimal,
    flows: list[tuple[datetime, Decimal]],
    start: datetime,
    end: datetime,
) -> Decimal | None:
    """Modified Dietz return of a period; flows are (time, amount into the wallets)."""
    span = Decimal(int((end - start).total_seconds()))
    if span <= 0:
        return None
    net = sum((amount for _, amount in flows), ZERO)
    weighted = sum(
        (mul(div(Decimal(int((end - at).total_seconds())), span), amount) for at, amount in flows), ZERO
    )
    base = opening + weighted
    if base <= 0:
        return None
    return div(closing - opening - net, base)


def equal_weight_return(navs: Mapping[str, tuple[Decimal, Decimal]]) -> Decimal | None:
    """Mean of ``close / open - 1`` over the tokens given as symbol -> (NAV at open, NAV at close)."""
    returns = [div(close, open_) - 1 for open_, close in navs.values() if open_ > 0]
    if not returns:
        return None
    return div(sum(returns, ZERO), Decimal(len(returns)))
