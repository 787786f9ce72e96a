"""Access to the platform outside chat: per-user API keys (:mod:`core.access.keys`)."""

from core.access.keys import (
    CreatedKey,
    KeyInfo,
    Principal,
    authenticate,
    create_in,
    hash_key,
    list_in,
    lookup_in,
    parse_user_ref,
    revoke_in,
    touch,
)

__all__ = [
    "CreatedKey",
    "KeyInfo",
    "Principal",
    "authenticate",
    "create_in",
    "hash_key",
    "list_in",
    "lookup_in",
    "parse_user_ref",
    "revoke_in",
    "touch",
]
