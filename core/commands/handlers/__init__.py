"""Handler modules, one per area; importing this package registers every command."""

from core.commands.handlers import admin, dashboard, exchange, market, onboarding, trading, wallet  # noqa: F401
