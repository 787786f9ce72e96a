"""Handler modules, one per area; importing this package registers every command."""

import core.commands.handlers.statements  # noqa: F401  (issue 14: /statement)
from core.commands.handlers import admin, exchange, market, onboarding, trading, wallet  # noqa: F401
