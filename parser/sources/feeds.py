"""RSS/Atom feeds (blogs, Mirror, Substack) and the arXiv API (which answers in Atom).

Feeds are fetched through :class:`~parser.sources.http.SafeFetcher` and parsed by ``feedparser``
from the fetched bytes (feedparser never touches the network here). One document per entry: the
entry's full content when the feed carries it, else its summary, converted from HTML to text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import feedparser

from parser.sources.base import RawDocument, clip, html_to_text
from parser.sources.http import SafeFetcher

ARXIV_API = "https://export.arxiv.org/api/query"


def _entry_text(entry: Any) -> str:
    contents = entry.get("content") or []
    if contents:
        return html_to_text("\n\n".join(str(c.get("value", "")) for c in contents))
    return html_to_text(str(entry.get("summary", "")))


def parse_feed(
    payload: bytes, *, source: str, kind: str, feed_url: str, now: datetime, limit: int
) -> list[RawDocument]:
    parsed = feedparser.parse(payload)
    feed_title = str(parsed.feed.get("title", ""))
    docs: list[RawDocument] = []
    for entry in parsed.entries[:limit]:
        link = str(entry.get("link") or entry.get("id") or "")
        text = _entry_text(entry)
        if not link or not text:
            continue
        title = html_to_text(str(entry.get("title", "")))
        authors = ", ".join(str(a.get("name", "")) for a in entry.get("authors", []) or [])
        docs.append(
            RawDocument(
                source=source,
                kind=kind,
                url=link,
                title=title,
                text=clip(f"{title}\n\n{text}" if title else text),
                fetched_at=now,
                provenance={
                    "feed_url": feed_url,
                    "feed_title": feed_title,
                    "entry_id": str(entry.get("id", link)),
                    "published": str(entry.get("published", entry.get("updated", ""))),
                    "author": authors,
                },
            )
        )
    return docs


@dataclass
class FeedSource:
    """An RSS 2.0 or Atom feed."""

    name: str
    url: str
    limit: int = 30

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]:
        result = http.get(self.url, accept="application/atom+xml, application/rss+xml, */*")
        return parse_feed(
            result.content,
            source=self.name,
            kind="feed",
            feed_url=self.url,
            now=now,
            limit=self.limit,
        )


@dataclass
class ArxivSource:
    """arXiv API search (Atom), e.g. ``query = 'all:"yield farming" OR all:"DeFi lending"'``."""

    name: str
    query: str
    limit: int = 20
    base_url: str = ARXIV_API

    def request_url(self) -> str:
        params = {
            "search_query": self.query,
            "start": "0",
            "max_results": str(self.limit),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        return f"{self.base_url}?{urlencode(params)}"

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]:
        url = self.request_url()
        result = http.get(url, accept="application/atom+xml")
        return parse_feed(
            result.content, source=self.name, kind="arxiv", feed_url=url, now=now, limit=self.limit
        )
