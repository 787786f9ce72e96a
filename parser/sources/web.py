"""Plain web pages: fetch through the guard, extract the main text with trafilatura.

Used for ``arena import --source https://...`` and for registry entries of ``kind = "web"``.
Only ``text/html`` and ``text/plain`` responses are accepted; anything else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import trafilatura

from parser.sources.base import RawDocument, clip, html_to_text
from parser.sources.http import FetchError, SafeFetcher


def extract_main_text(page: str, url: str) -> tuple[str, str]:
    """Return ``(title, main text)`` of an HTML page; falls back to all visible text."""
    text = trafilatura.extract(page, url=url, include_comments=False, include_tables=True) or ""
    meta = trafilatura.extract_metadata(page, default_url=url)
    title = str(meta.title) if meta is not None and meta.title else ""
    if not text.strip():
        text = html_to_text(page)
    return title, text.strip()


@dataclass
class WebPageSource:
    name: str
    url: str

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]:
        result = http.get(self.url, accept="text/html, text/plain;q=0.9")
        ctype = result.headers.get("content-type", "text/html").split(";", 1)[0].strip().lower()
        if ctype == "text/plain":
            title, text = "", result.text.strip()
        elif ctype in ("text/html", "application/xhtml+xml"):
            title, text = extract_main_text(result.text, result.url)
        else:
            raise FetchError(f"{self.url} is {ctype}, not a web page; only HTML or text is imported")
        if not text:
            return []
        return [
            RawDocument(
                source=self.name,
                kind="web",
                url=result.url,
                title=title or (text.splitlines()[0][:200] if text else ""),
                text=clip(text),
                fetched_at=now,
                provenance={"requested_url": self.url, "content_type": ctype},
            )
        ]
