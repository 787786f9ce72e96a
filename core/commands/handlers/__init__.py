"""Handler modules, one per area; importing this package registers every command."""

from core.commands.handlers import admin, exchange, market, onboarding, trading, wallet  # noqa: F401
from core.commands.handlers import bounty as _bounty  # noqa: F401  (issue 14: /submit, /bounties)
from core.commands.handlers import statements as _statements  # noqa: F401  (issue 14: /statement)
