"""Token distributions (accumulate or distribute realised yield monthly): :mod:`.service`."""

from core.distributions.service import (
    INCOME_FAMILIES,
    DistributionResult,
    distribute,
    distribute_in,
    distributing_symbols,
    set_policy,
    set_policy_in,
)

__all__ = [
    "INCOME_FAMILIES",
    "DistributionResult",
    "distribute",
    "distribute_in",
    "distributing_symbols",
    "set_policy",
    "set_policy_in",
]
