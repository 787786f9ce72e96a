"""All SQLAlchemy models. Import this package to register every table on ``Base.metadata``."""

# Tables of the other areas (chat, pipeline, wallets): imported so they register on the metadata.
from core.models import (  # noqa: F401
    access,
    agreements,
    audit,
    billing,
    chat,
    exchange,
    money,
    pipeline,
    service,
    wallets_ext,
    web,
)
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
