"""The unit every source produces: a :class:`RawDocument` with provenance, plus shared helpers.

A raw document is untrusted text. It is stored, hashed, parsed into a declarative spec and never
executed. ``content_hash`` is the SHA-256 of the whitespace-normalised text, so the same write-up
reached through two URLs is recognised as one document.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import Protocol

from parser.sources.http import SafeFetcher

#: Upper bound on stored text per document (characters); longer texts are cut (and flagged).
MAX_TEXT_CHARS = 60_000


@dataclass(frozen=True)
class RawDocument:
    source: str  # registry name (e.g. "aave-governance"), "url", "file" or "discord"
    kind: str  # rss | atom | discourse | reddit | arxiv | yearn | beefy | web | discord | file
    url: str
    title: str
    text: str
    fetched_at: datetime
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def content_hash(text: str) -> str:
    normalised = " ".join(text.split()).casefold()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def clip(text: str) -> str:
    text = text.replace("\x00", "")
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS]


def dedupe(docs: Iterable[RawDocument]) -> list[RawDocument]:
    """Drop later documents whose URL or content hash was already seen (order preserved)."""
    seen_urls: set[str] = set()
    seen_hashes: set[str] = set()
    out: list[RawDocument] = []
    for doc in docs:
        digest = doc.content_hash
        if doc.url in seen_urls or digest in seen_hashes or not doc.text.strip():
            continue
        seen_urls.add(doc.url)
        seen_hashes.add(digest)
        out.append(doc)
    return out


class _TextExtractor(HTMLParser):
    """Visible text of an HTML fragment; drops script/style, keeps paragraph breaks."""

    _BLOCK = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre"})
    _SKIP = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of a small HTML fragment (Discourse ``cooked``, feed summaries)."""
    if "<" not in fragment:
        return html.unescape(fragment).strip()
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    text = "".join(extractor.parts)
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


class Source(Protocol):
    """A configured source: fetches documents through the guarded fetcher."""

    name: str

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]: ...
