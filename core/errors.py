"""Typed domain errors. Each carries a message a person understands and writes nothing.

Adapters catch :class:`ArenaError` and show ``str(error)``; anything else is a bug and is logged
(redacted) while the user sees a short apology.
"""

from __future__ import annotations


class ArenaError(Exception):
    """Base class for errors that are the user's or the market's, not the program's."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ArenaError):
    code = "invalid"


class InvalidAmount(ValidationError):
    code = "invalid_amount"


class NotFound(ArenaError):
    code = "not_found"


class UnknownToken(NotFound):
    code = "unknown_token"


class TokenNotTradable(ArenaError):
    code = "token_not_tradable"


class SoldOut(ArenaError):
    code = "sold_out"


class InsufficientCash(ArenaError):
    code = "insufficient_cash"


class InsufficientTokens(ArenaError):
    code = "insufficient_tokens"


class OrganisationNotVerified(ArenaError):
    code = "org_not_verified"


class PermissionDenied(ArenaError):
    code = "permission_denied"


class IdempotencyConflict(ArenaError):
    code = "idempotency_conflict"


class TradingHalted(ArenaError):
    code = "trading_halted"


class LimitExceeded(ArenaError):
    code = "limit_exceeded"


class ConfigError(ArenaError):
    code = "config"
