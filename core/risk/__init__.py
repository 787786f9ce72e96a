"""Platform risk: kill switch, circuit breaker, redemption limit and queue, insurance fund.

:func:`install` registers the circuit-breaker and redemption-limit checks with the ledger's
pre-trade guard hook (:mod:`core.ledger.guards`). The composition root of every entry point calls
it (``bot.wiring.install_safety``); importing this package registers nothing.
"""

from core.risk import circuit, redemption
from core.risk.circuit import (
    check_circuit_breaker,
    halt_trading,
    is_halted,
    platform_loss_24h,
    resume_trading,
    risk_state,
)
from core.risk.insurance import insurance_fund_balance
from core.risk.kill_switch import check_kill_switch, drawdown
from core.risk.redemption import (
    RedemptionOutcome,
    process_queue_in,
    redeem_or_queue,
    redeem_or_queue_in,
    remaining_capacity,
)


def install() -> None:
    """Register the platform's pre-trade checks with the ledger (idempotent)."""
    circuit.install()
    redemption.install()


__all__ = [
    "RedemptionOutcome",
    "check_circuit_breaker",
    "check_kill_switch",
    "drawdown",
    "halt_trading",
    "install",
    "insurance_fund_balance",
    "is_halted",
    "platform_loss_24h",
    "process_queue_in",
    "redeem_or_queue",
    "redeem_or_queue_in",
    "remaining_capacity",
    "resume_trading",
    "risk_state",
]
