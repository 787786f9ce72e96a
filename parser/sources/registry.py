"""Source registry: named sources configured in TOML, plus resolution of ``--source`` arguments.

The default registry ships as ``parser/sources.toml``; ``ARENA_SOURCES_FILE`` (or an explicit path)
points at another. Each ``[[source]]`` table has a unique ``name``, a ``kind`` and its fields:

* ``feed``: ``url``, ``limit``; ``arxiv``: ``query``, ``limit``
* ``discourse``: ``url``, ``limit``, ``category``
* ``reddit``: ``subreddit``, ``listing``, ``period``, ``limit``
* ``yearn``: ``url``, ``limit``; ``beefy``: ``url``, ``templates_url``, ``limit``
* ``web``: ``url``

``resolve_source`` turns a CLI argument into documents' origin: a registry name, an http(s) URL
(fetched as a web page, through the SSRF guard) or a local ``.jsonl`` file of texts.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from parser.sources.base import RawDocument, Source, clip
from parser.sources.feeds import ArxivSource, FeedSource
from parser.sources.forums import DiscourseSource, RedditSource
from parser.sources.vaults import BeefySource, YearnSource
from parser.sources.web import WebPageSource

DEFAULT_REGISTRY = Path(__file__).resolve().parent.parent / "sources.toml"

_KINDS: dict[str, type[Any]] = {
    "feed": FeedSource,
    "arxiv": ArxivSource,
    "discourse": DiscourseSource,
    "reddit": RedditSource,
    "yearn": YearnSource,
    "beefy": BeefySource,
    "web": WebPageSource,
}


@dataclass(frozen=True)
class Registry:
    sources: dict[str, Source]

    def get(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ValidationError(f"unknown source {name!r}; configured sources: {known}") from None


def build_source(entry: dict[str, Any]) -> Source:
    entry = dict(entry)
    kind = str(entry.pop("kind", ""))
    cls = _KINDS.get(kind)
    if cls is None:
        raise ValidationError(f"source kind {kind!r} is unknown; use one of {', '.join(_KINDS)}")
    entry.pop("enabled", None)
    try:
        source: Source = cls(**entry)
    except TypeError as exc:
        raise ValidationError(f"source {entry.get('name', '?')!r} ({kind}): {exc}") from None
    return source


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path or os.environ.get("ARENA_SOURCES_FILE") or DEFAULT_REGISTRY)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"cannot read source registry {path}: {exc}") from None
    sources: dict[str, Source] = {}
    for entry in config.get("source", []):
        if not entry.get("enabled", True):
            continue
        source = build_source(entry)
        if source.name in sources:
            raise ValidationError(f"source name {source.name!r} appears twice in {path}")
        sources[source.name] = source
    return Registry(sources)


def load_jsonl(path: str | Path, now: datetime) -> list[RawDocument]:
    """Texts from a JSONL file (``text`` required; ``url_or_path``/``url``, ``title`` optional)."""
    path = Path(path)
    docs: list[RawDocument] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{path}:{number} is not valid JSON ({exc.msg})") from None
            text = str(row.get("text") or "")
            if not text.strip():
                continue
            url = str(row.get("url_or_path") or row.get("url") or f"file://{path.name}#{number}")
            provenance = {
                k: str(row[k]) for k in ("id", "source", "license", "kind", "repo", "commit") if k in row
            }
            provenance["file"] = str(path)
            docs.append(
                RawDocument(
                    source="file",
                    kind="file",
                    url=url,
                    title=str(row.get("title") or ""),
                    text=clip(text),
                    fetched_at=now,
                    provenance=provenance,
                )
            )
    return docs


def load_text_file(path: str | Path, now: datetime) -> RawDocument:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return RawDocument(
        source="file",
        kind="file",
        url=path.resolve().as_uri(),
        title=text.strip().splitlines()[0][:200] if text.strip() else path.name,
        text=clip(text),
        fetched_at=now,
        provenance={"file": str(path)},
    )


FILE_SUFFIXES = (".jsonl", ".txt", ".md")


def resolve_source(arg: str, registry: Registry | None = None) -> Source | Path:
    """A registry name or URL -> a :class:`Source`; a local file -> its path."""
    if arg.startswith(("http://", "https://")):
        return WebPageSource(name="url", url=arg)
    if "://" in arg:
        raise ValidationError(f"only http(s) URLs, registry names or local {'/'.join(FILE_SUFFIXES)} files")
    candidate = Path(arg)
    if candidate.suffix in FILE_SUFFIXES and candidate.is_file():
        return candidate
    if candidate.suffix in FILE_SUFFIXES or "/" in arg or "\\" in arg:  # a path, not a registry name
        if not candidate.exists():
            problem = "does not exist"
        elif candidate.is_dir():
            problem = "is a folder, not a file"
        else:
            problem = f"is not a {'/'.join(FILE_SUFFIXES)} file"
        raise ValidationError(f"file {arg} {problem} (a source is a registry name, an http(s) URL or a "
                              f"local {'/'.join(FILE_SUFFIXES)} file)")
    return (registry or load_registry()).get(arg)
