"""Discover: source clients, the guarded fetcher and the TOML source registry.

Public entry points: :class:`~parser.sources.http.SafeFetcher` / :class:`FetchPolicy`,
:func:`~parser.sources.registry.load_registry`, :func:`~parser.sources.registry.resolve_source`,
:func:`~parser.sources.registry.load_jsonl`, :func:`~parser.sources.chat.ingest_discord_message`.
"""

from parser.sources.base import RawDocument, content_hash, dedupe
from parser.sources.chat import ingest_discord_message
from parser.sources.http import BlockedURL, FetchError, FetchPolicy, SafeFetcher
from parser.sources.registry import load_jsonl, load_registry, resolve_source

__all__ = [
    "BlockedURL",
    "FetchError",
    "FetchPolicy",
    "RawDocument",
    "SafeFetcher",
    "content_hash",
    "dedupe",
    "ingest_discord_message",
    "load_jsonl",
    "load_registry",
    "resolve_source",
]
