"""Performance metrics from a daily equity curve, with numpy: one implementation of each statistic.

Conventions:

* Daily simple returns ``r_t = E_t / E_{t-1} - 1``; a 365-day year (crypto trades every day).
* **Risk-free rate**: the market's risk-free series (:mod:`backtest.data.riskfree`; the 3-month US
  T-bill, FRED DTB3, on real data; 0 % on the synthetic market, and reports say so). DTB3's discount
  rate is converted to the bill's investment yield ``y = 365 d / (360 - 91 d)``; the return from day
  t-1 to day t is compared with ``rf_t = y_{t-1} / 365`` (simple daily accrual, the same convention
  as the lending markets). The series is carried over weekends and holidays but never past its last
  observation; a window day without a rate counts 0 and is reported (``risk_free_missing_days``).
* **Excess returns** ``e_t = r_t - rf_t`` feed Sharpe, Sortino, PSR and DSR
  (:mod:`backtest.metrics.sharpe`); volatility and drawdown use plain returns.

Keys (all finite, JSON-safe):

* ``total_return`` E_end / E_start - 1; ``excess_return`` total return minus the risk-free rate's
  compounded return over the same days; ``cagr`` (1 + total) ** (365 / (days - 1)) - 1
* ``volatility`` sample std of daily returns * sqrt(365)
* ``sharpe`` mean(e) / std(e) * sqrt(365), 0 when excess returns do not vary; ``sortino`` the same
  over the downside deviation sqrt(mean(min(e, 0)^2))
* ``max_drawdown`` largest peak-to-trough fall of equity, a positive fraction; ``calmar`` cagr / mdd
* ``n_trades`` fills (plus yield switches); ``exposure`` mean invested value / equity;
  ``turnover`` annualised traded value / mean equity
* ``hodl_return`` total return of the buy-and-hold benchmark over the same days
* ``psr`` P(true Sharpe > 0) (Bailey & López de Prado 2012); ``dsr`` the deflated Sharpe ratio:
  PSR against the expected maximum Sharpe of ``n_trials`` unskilled trials whose Sharpe ratios vary
  across trials with ``sharpe_variance`` (Bailey & López de Prado 2014)
* ``days`` number of daily equity observations
* PBO (:mod:`backtest.metrics.overfitting`): probability of backtest overfitting of a set of trials.
"""

from backtest.metrics.overfitting import PboResult, probability_of_backtest_overfitting
from backtest.metrics.performance import (
    DAYS_PER_YEAR,
    METRIC_KEYS,
    Metrics,
    compute_metrics,
    daily_returns,
    excess_returns,
    max_drawdown,
)
from backtest.metrics.sharpe import (
    NOISE_FLOOR,
    Moments,
    deflated_sharpe,
    expected_max_sharpe,
    moments,
    probabilistic_sharpe,
    psr_from_moments,
    sharpe_per_period,
    sharpe_std_error,
    sortino_per_period,
)

__all__ = [
    "DAYS_PER_YEAR",
    "METRIC_KEYS",
    "NOISE_FLOOR",
    "Metrics",
    "Moments",
    "PboResult",
    "compute_metrics",
    "daily_returns",
    "deflated_sharpe",
    "excess_returns",
    "expected_max_sharpe",
    "max_drawdown",
    "moments",
    "probabilistic_sharpe",
    "probability_of_backtest_overfitting",
    "psr_from_moments",
    "sharpe_per_period",
    "sharpe_std_error",
    "sortino_per_period",
]
