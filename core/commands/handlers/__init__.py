"""Handler modules, one per area; importing this package registers every command."""

from core.commands.handlers import (  # noqa: F401
    admin,
    agreement,
    exchange,
    gateway,
    market,
    onboarding,
    plans,
    trading,
    wallet,
)
