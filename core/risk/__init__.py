"""Platform risk: kill switch, circuit breaker, redemption limit and queue, insurance fund.

Importing this package registers the circuit-breaker and redemption-limit checks with the ledger's
pre-trade guard hook (:mod:`core.ledger.guards`); :func:`install` does it explicitly (idempotent).
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
    circuit.install()
    redemption.install()


install()

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
