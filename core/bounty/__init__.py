"""The import bounty (5 % of a submitted strategy's first-year net gains to holders, from platform
fee revenue): :mod:`.service` (submissions, accruals, payouts, report), :mod:`.jobs` (scheduled)."""

from core.bounty.service import (
    BOUNTY_RATE,
    BountyReport,
    accrue_token_in,
    bounty_report,
    lower_hwm_in,
    pay_org_in,
    payable_code,
    record_submission_in,
    register_states_in,
)

__all__ = [
    "BOUNTY_RATE",
    "BountyReport",
    "accrue_token_in",
    "bounty_report",
    "lower_hwm_in",
    "pay_org_in",
    "payable_code",
    "record_submission_in",
    "register_states_in",
]
