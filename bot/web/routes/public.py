"""The public methodology: how tokens are born, priced and charged (no key needed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from bot.web.auth import Caller, Gate
from bot.web.routes import PUBLIC, router
from core.config import Settings

api = router("public")


@api.get("/api/methodology", **PUBLIC)
def methodology(
    request: Request, caller: Annotated[Caller, Depends(Gate("disclosures", public=True))]
) -> dict[str, Any]:
    """The birth gate's checks and thresholds, the fees, the risk-free rate and how NAV is marked;
    fractions are decimal strings (0.15 = 15 %)."""
    s: Settings = request.app.state.settings
    return {
        "gate": {
            "min_history_days": s.gate_min_days,
            "min_excess_sharpe": str(s.gate_min_sharpe),
            "max_drawdown": str(s.gate_max_drawdown),
            "min_deflated_sharpe": str(s.gate_min_dsr),
            "min_out_of_sample_excess_sharpe": str(s.gate_min_oos_sharpe),
            "out_of_sample_fraction": str(s.gate_oos_fraction),
            "max_probability_of_backtest_overfitting": str(s.gate_max_pbo),
            "paper_trading_days": s.paper_days,
        },
        "fees": {
            "management_fee_per_year": format(s.management_fee_rate, "f"),
            "performance_fee_above_benchmark": format(s.performance_fee_rate, "f"),
            "insurance_fund_share_of_fees": format(s.insurance_fee_share, "f"),
            "exchange_fee_rate": format(s.exchange_fee_rate, "f"),
        },
        "risk_free_rate": "US 3-month T-bill (FRED DTB3), converted from the discount rate to its "
        "investment yield and accrued daily; the synthetic market uses 0 %.",
        "nav": "Each token's NAV is marked daily from its strategy agent's equity in a backtest started "
        "flat on the token's birth day; fees settle before every trade and at each mark; "
        "rounding favours the pool.",
        "risk": {
            "kill_switch_drawdown": format(s.kill_switch_drawdown, "f"),
            "circuit_breaker_daily_loss": format(s.circuit_breaker_loss, "f"),
            "redemption_daily_limit_of_aum": format(s.redemption_daily_limit, "f"),
        },
    }
