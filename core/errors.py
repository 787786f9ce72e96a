"""Typed domain errors. Each carries a message a person understands and writes nothing.

Adapters catch :class:`ArenaError` and show ``str(error)``; anything else is a bug and is logged
(redacted) while the user sees a short apology. A message that points to a chat command (``/tokens``)
also carries ``cli``, the same line pointing to the ``arena`` command that does it, which the CLI
shows instead (``arena status`` lists the tokens): each reader is told what they can type.
"""

from __future__ import annotations


class ArenaError(Exception):
    """Base class for errors that are the user's or the market's, not the program's."""

    code = "error"

    def __init__(self, message: str, *, cli: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cli_message = cli or message


class ValidationError(ArenaError):
    code = "invalid"


class InvalidAmount(ValidationError):
    code = "invalid_amount"


class NotFound(ArenaError):
    code = "not_found"


class UnknownToken(NotFound):
    code = "unknown_token"

    @classmethod
    def named(cls, symbol: str) -> UnknownToken:
        """No token ``symbol``: chat points to /tokens, the CLI to ``arena status`` (its token table)."""
        return cls(f"unknown token {symbol}; /tokens lists the available ones",
                   cli=f"unknown token {symbol}; `arena status` lists the tokens")


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
