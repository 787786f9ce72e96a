"""Handler modules, one per area; importing this package registers every command."""

from core.commands.handlers import (  # noqa: F401
    access,
    admin,
    agreement,
    bounty,
    dashboard,
    exchange,
    gateway,
    market,
    onboarding,
    plans,
    statements,
    trading,
    wallet,
)
