"""All SQLAlchemy models. Import this package to register every table on ``Base.metadata``."""

from core.models.base import Base, Money, Quantity, UTCDateTime
from core.models.compliance import (
    Attestation,
    AttestationKind,
    Organisation,
    OrgKind,
    OrgStatus,
    Platform,
    Role,
    User,
)
from core.models.ledger import (
    CASH_ASSET,
    AccountKind,
    AuditLog,
    IdempotencyKey,
    LedgerAccount,
    LedgerTransaction,
    Posting,
)
from core.models.tokens import (
    FeeAccrual,
    FeeKind,
    NavMark,
    StrategyToken,
    TokenHolding,
    TokenStatus,
    TreasuryAgent,
)
from core.models.wallets import AIWallet, AllocationSnapshot, Tier, WalletMode, WalletOwner

# Other areas register their tables below (one import line each).
from core.models.chat import ChatPreference, JobRun, OutboxMessage, PendingConfirmation  # noqa: F401
# isort: split
from core.models.pipeline import CandidateState, ParseRecord, SourceDocument, StrategyCandidate  # noqa: F401
from core.models.wallets_ext import PlatformRiskState, RebalanceExecution, RebalanceProposal, RedemptionRequest, RedemptionUsage  # noqa: F401, E501

__all__ = [
    "CASH_ASSET",
    "AIWallet",
    "AccountKind",
    "AllocationSnapshot",
    "Attestation",
    "AttestationKind",
    "AuditLog",
    "Base",
    "FeeAccrual",
    "FeeKind",
    "IdempotencyKey",
    "LedgerAccount",
    "LedgerTransaction",
    "Money",
    "NavMark",
    "OrgKind",
    "OrgStatus",
    "Organisation",
    "Platform",
    "Posting",
    "Quantity",
    "Role",
    "StrategyToken",
    "Tier",
    "TokenHolding",
    "TokenStatus",
    "TreasuryAgent",
    "UTCDateTime",
    "User",
    "WalletMode",
    "WalletOwner",
]
