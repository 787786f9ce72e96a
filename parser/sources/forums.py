"""Discourse forums (``/latest.json`` then ``/t/{id}.json``) and Reddit listings (``.json``).

Discourse: the first post of each recent topic is the proposal; its ``cooked`` HTML is converted to
text. Reddit: self posts only (link posts carry no strategy text). Both are read-only JSON APIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parser.sources.base import RawDocument, clip, html_to_text
from parser.sources.http import FetchError, SafeFetcher


@dataclass
class DiscourseSource:
    name: str
    url: str  # forum root, e.g. https://governance.aave.com
    limit: int = 20
    category: str | None = None  # optional category slug, e.g. "c/governance"

    def _root(self) -> str:
        return self.url.rstrip("/")

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]:
        root = self._root()
        listing = f"{root}/{self.category.strip('/')}.json" if self.category else f"{root}/latest.json"
        topics = http.get(listing, accept="application/json").json()
        rows: list[dict[str, Any]] = list(topics.get("topic_list", {}).get("topics", []))
        docs: list[RawDocument] = []
        for topic in rows[: self.limit]:
            topic_id = int(topic["id"])
            try:
                data = http.get(f"{root}/t/{topic_id}.json", accept="application/json").json()
            except FetchError:
                continue  # one missing topic must not sink the whole forum
            posts = data.get("post_stream", {}).get("posts", [])
            if not posts:
                continue
            first = posts[0]
            title = str(data.get("title") or topic.get("title") or "")
            body = html_to_text(str(first.get("cooked", "")))
            slug = str(data.get("slug") or topic.get("slug") or topic_id)
            docs.append(
                RawDocument(
                    source=self.name,
                    kind="discourse",
                    url=f"{root}/t/{slug}/{topic_id}",
                    title=title,
                    text=clip(f"{title}\n\n{body}"),
                    fetched_at=now,
                    provenance={
                        "forum": root,
                        "topic_id": str(topic_id),
                        "author": str(first.get("username", "")),
                        "created_at": str(first.get("created_at", "")),
                    },
                )
            )
        return docs


@dataclass
class RedditSource:
    name: str
    subreddit: str  # e.g. "defi"
    listing: str = "top"  # top | new | hot
    period: str = "week"  # for "top": hour|day|week|month|year|all
    limit: int = 25
    base_url: str = "https://www.reddit.com"

    def request_url(self) -> str:
        base = self.base_url.rstrip("/")
        query = f"limit={self.limit}" + (f"&t={self.period}" if self.listing == "top" else "")
        return f"{base}/r/{self.subreddit}/{self.listing}.json?{query}"

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]:
        payload = http.get(self.request_url(), accept="application/json").json()
        docs: list[RawDocument] = []
        for child in payload.get("data", {}).get("children", []):
            post = child.get("data", {})
            body = str(post.get("selftext") or "").strip()
            if not post.get("is_self", True) or not body:
                continue
            title = str(post.get("title", ""))
            docs.append(
                RawDocument(
                    source=self.name,
                    kind="reddit",
                    url=self.base_url.rstrip("/") + str(post.get("permalink", "")),
                    title=title,
                    text=clip(f"{title}\n\n{body}"),
                    fetched_at=now,
                    provenance={
                        "subreddit": self.subreddit,
                        "post_id": str(post.get("id", "")),
                        "author": str(post.get("author", "")),
                        "score": str(post.get("score", "")),
                    },
                )
            )
        return docs
