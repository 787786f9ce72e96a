"""Every source client against a local HTTP server serving realistic responses.

Responses are built at test time from ``../shared/data/strategy_texts.jsonl`` (nothing is copied
into the repo): a Discourse forum of the mStable proposals, a Reddit listing, an RSS and an Atom
feed, an arXiv API answer, Yearn's and Beefy's vault APIs with the real descriptions, a web page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from parser.sources.base import dedupe, html_to_text
from parser.sources.chat import ingest_discord_message
from parser.sources.feeds import ArxivSource, FeedSource
from parser.sources.forums import DiscourseSource, RedditSource
from parser.sources.http import BlockedURL, FetchPolicy, SafeFetcher
from parser.sources.registry import build_source, load_jsonl, load_registry, resolve_source
from parser.sources.vaults import BeefySource, YearnSource
from parser.sources.web import WebPageSource
from tests.unit.test_sources_http import LOCAL, LocalServer

NOW = datetime(2026, 1, 7, tzinfo=UTC)
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def texts(shared_data_dir: Path) -> list[dict[str, Any]]:
    path = shared_data_dir / "strategy_texts.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    srv.routes["/robots.txt"] = (200, {}, b"User-agent: *\nDisallow: /admin\n")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def http() -> Iterator[SafeFetcher]:
    with SafeFetcher(LOCAL, sleep=lambda _s: None) as fetcher:
        yield fetcher


def _by_source(texts: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [t for t in texts if t["source"].startswith(prefix)]


def _html(text: str) -> str:
    return "".join(f"<p>{escape(par)}</p>" for par in text.split("\n\n"))


def test_discourse_latest_and_topics(server: LocalServer, http: SafeFetcher, texts: list) -> None:
    mips = _by_source(texts, "mstable")
    topics = [
        {"id": 100 + i, "slug": f"topic-{i}", "title": t["title"]} for i, t in enumerate(mips)
    ]
    server.routes["/latest.json"] = (
        200,
        JSON,
        json.dumps({"topic_list": {"topics": topics}}).encode(),
    )
    for i, t in enumerate(mips):
        body = {
            "title": t["title"],
            "slug": f"topic-{i}",
            "post_stream": {
                "posts": [
                    {
                        "post_number": 1,
                        "username": "mzero",
                        "created_at": "2021-04-20T10:00:00Z",
                        "cooked": _html(t["text"]) + "<script>alert(1)</script>",
                    }
                ]
            },
        }
        server.routes[f"/t/{100 + i}.json"] = (200, JSON, json.dumps(body).encode())
    del server.routes["/t/101.json"]  # one topic missing: the rest still arrives
    docs = DiscourseSource(name="mstable-forum", url=server.base, limit=50).fetch(http, NOW)
    assert len(docs) == len(mips) - 1
    first = docs[0]
    assert first.kind == "discourse" and first.url == f"{server.base}/t/topic-0/100"
    assert first.provenance["topic_id"] == "100" and first.provenance["author"] == "mzero"
    assert "dHEDGE" in first.text and "alert(1)" not in first.text
    assert "Convex" in next(d.text for d in docs if "Convex" in d.title)


def test_reddit_listing_self_posts_only(
    server: LocalServer, http: SafeFetcher, texts: list
) -> None:
    trades = _by_source(texts, "freqtrade")
    children = [
        {
            "kind": "t3",
            "data": {
                "id": f"p{i}",
                "title": t["title"],
                "selftext": t["text"],
                "is_self": True,
                "permalink": f"/r/defi/comments/p{i}/x/",
                "author": "u",
                "score": 10 + i,
            },
        }
        for i, t in enumerate(trades)
    ]
    children.append(
        {
            "kind": "t3",
            "data": {
                "id": "link",
                "title": "a link",
                "selftext": "",
                "is_self": False,
                "permalink": "/r/defi/comments/link/",
                "url": "https://x",
            },
        }
    )
    payload = {"kind": "Listing", "data": {"children": children}}
    server.routes["/r/defi/top.json"] = (200, JSON, json.dumps(payload).encode())
    source = RedditSource(name="reddit-defi", subreddit="defi", base_url=server.base)
    docs = source.fetch(http, NOW)
    assert len(docs) == len(trades)
    assert any(path.startswith("/r/defi/top.json?limit=25&t=week") for path in server.paths())
    assert docs[0].provenance["post_id"] == "p0" and "MACD" in docs[0].text


def test_rss_and_atom_feeds(server: LocalServer, http: SafeFetcher, texts: list) -> None:
    posts = _by_source(texts, "tradingstrategy")
    items = "".join(
        f"<item><title>{escape(t['title'])}</title><link>{server.base}/blog/{i}</link>"
        f"<guid>{t['id']}</guid><description>{escape(_html(t['text']))}</description></item>"
        for i, t in enumerate(posts)
    )
    channel = f"<channel><title>Blog</title>{items}</channel>"
    rss = f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'
    server.routes["/rss.xml"] = (200, {"Content-Type": "application/rss+xml"}, rss.encode())
    docs = FeedSource(name="blog", url=server.base + "/rss.xml").fetch(http, NOW)
    assert [d.title for d in docs] == [t["title"] for t in posts]
    assert "RSI" in docs[0].text and "<p>" not in docs[0].text
    assert docs[0].provenance["entry_id"] == posts[0]["id"]

    entries = "".join(
        f"<entry><title>{escape(t['title'])}</title><id>urn:{t['id']}</id>"
        f"<link href='{server.base}/m/{i}'/><updated>2021-01-0{i + 1}T00:00:00Z</updated>"
        f"<content type='html'>{escape(_html(t['text']))}</content></entry>"
        for i, t in enumerate(posts[:3])
    )
    atom = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>Mirror</title>{entries}</feed>"
    server.routes["/atom"] = (200, {"Content-Type": "application/atom+xml"}, atom.encode())
    docs = FeedSource(name="mirror", url=server.base + "/atom").fetch(http, NOW)
    assert len(docs) == 3 and docs[1].url == f"{server.base}/m/1"


def test_arxiv_api(server: LocalServer, http: SafeFetcher, texts: list) -> None:
    paper = next(t for t in texts if "eth-btc-dominance" in t["source"])
    atom = (
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>ArXiv Query</title><entry>"
        "<id>http://arxiv.org/abs/2501.00001v1</id><title>ETH/BTC dominance trend following</title>"
        f"<summary>{escape(paper['text'])}</summary><author><name>A. Author</name></author>"
        "<link href='http://arxiv.org/abs/2501.00001v1' rel='alternate'/></entry></feed>"
    )
    server.routes["/api/query"] = (200, {"Content-Type": "application/atom+xml"}, atom.encode())
    source = ArxivSource(
        name="arxiv", query='all:"ETH BTC"', limit=5, base_url=server.base + "/api/query"
    )
    docs = source.fetch(http, NOW)
    assert len(docs) == 1 and docs[0].kind == "arxiv"
    assert docs[0].provenance["author"] == "A. Author"
    assert "moving average" in docs[0].text
    assert any("search_query=all%3A%22ETH+BTC%22" in p for p in server.paths())


def test_yearn_vaults(server: LocalServer, http: SafeFetcher, texts: list) -> None:
    yearn = _by_source(texts, "yearn")
    vaults = [
        {
            "address": f"0xv{i}",
            "name": f"yv{i}",
            "chainID": 1,
            "token": {"symbol": "USDC"},
            "strategies": [
                {"address": f"0xs{i}", "name": t["title"], "description": t["text"]},
                {"address": f"0xe{i}", "name": "empty", "description": ""},
            ],
        }
        for i, t in enumerate(yearn)
    ]
    server.routes["/1/vaults/all"] = (200, JSON, json.dumps(vaults).encode())
    docs = YearnSource(name="yearn", url=server.base + "/1/vaults/all").fetch(http, NOW)
    assert len(docs) == len(yearn)
    assert "{{token}}" not in docs[0].text and "Supplies USDC to" in docs[0].text
    assert docs[0].provenance["vault"] == "0xv0" and docs[0].provenance["token"] == "USDC"


def test_beefy_vaults_with_templates(server: LocalServer, http: SafeFetcher, texts: list) -> None:
    beefy = _by_source(texts, "beefy")
    templates = {t["title"]: t["text"] for t in beefy}
    vaults = [
        {
            "id": "aave-usdc",
            "name": "USDC",
            "token": "USDC",
            "platformId": "aave",
            "chain": "polygon",
            "assets": ["USDC"],
            "strategyTypeId": "lending",
            "status": "active",
        },
        {
            "id": "quick-eth-usdc",
            "name": "ETH-USDC LP",
            "token": "ETH-USDC LP",
            "platformId": "quickswap",
            "assets": ["ETH", "USDC"],
            "strategyTypeId": "lp",
            "status": "active",
        },
        {"id": "old", "name": "old", "token": "X", "strategyTypeId": "lp", "status": "eol"},
        {"id": "odd", "name": "odd", "token": "X", "strategyTypeId": "unknown", "status": "active"},
    ]
    server.routes["/vaults"] = (200, JSON, json.dumps(vaults).encode())
    server.routes["/risks.json"] = (200, JSON, json.dumps(templates).encode())
    source = BeefySource(
        name="beefy", url=server.base + "/vaults", templates_url=server.base + "/risks.json"
    )
    docs = source.fetch(http, NOW)
    assert [d.provenance["vault_id"] for d in docs] == ["aave-usdc", "quick-eth-usdc"]
    assert "deposits USDC into this vault" in docs[0].text
    assert "swapped for ETH and USDC" in docs[1].text and "quickswap farm" in docs[1].text


def test_web_page_main_text(server: LocalServer, http: SafeFetcher, texts: list) -> None:
    text = next(t for t in texts if "dxganta" in t["source"])["text"]
    page = (
        "<html><head><title>Stablecoin yield</title><script>steal()</script></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/about'>About</a></nav>"
        f"<article><h1>AAVE &amp; Curve</h1>{_html(text)}</article>"
        "<footer>Copyright footer links</footer></body></html>"
    )
    server.routes["/post"] = (200, {"Content-Type": "text/html; charset=utf-8"}, page.encode())
    server.routes["/bin"] = (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01")
    docs = WebPageSource(name="url", url=server.base + "/post").fetch(http, NOW)
    assert len(docs) == 1
    assert "70% Loan to Collateral Ratio" in docs[0].text and "steal()" not in docs[0].text
    with pytest.raises(Exception, match="not a web page"):
        WebPageSource(name="url", url=server.base + "/bin").fetch(http, NOW)


def test_user_submitted_url_to_internal_service_is_refused(server: LocalServer) -> None:
    server.routes["/admin-api"] = (200, {}, b"secret")
    source = resolve_source(server.base + "/admin-api")
    assert isinstance(source, WebPageSource)
    with SafeFetcher(FetchPolicy()) as default, pytest.raises(BlockedURL):
        source.fetch(default, NOW)
    assert server.seen == []


def test_discord_message_ingestion_and_dedupe() -> None:
    text = "Rotate USDC between Aave v2 and Compound weekly, whichever pays the higher supply rate."
    doc = ingest_discord_message(
        guild_id=1,
        channel_id=2,
        message_id=3,
        author_id=42,
        content=text,
        created_at=datetime(2026, 1, 1, 12, 0),
    )
    assert doc is not None and doc.url == "discord://1/2/3" and doc.provenance["author_id"] == "42"
    assert doc.fetched_at.tzinfo is not None
    assert (
        ingest_discord_message(
            guild_id=1, channel_id=2, message_id=4, author_id=42, content="gm", created_at=NOW
        )
        is None
    )
    again = ingest_discord_message(
        guild_id=1,
        channel_id=9,
        message_id=5,
        author_id=7,
        content=text.upper() + "  ",
        created_at=NOW,
    )
    assert again is not None
    assert dedupe([doc, doc, again]) == [doc], (
        "same URL and same normalised content are one document"
    )


def test_registry_and_jsonl(tmp_path: Path, shared_data_dir: Path) -> None:
    registry = load_registry()
    assert {"aave-governance", "yearn-vaults", "beefy-vaults", "reddit-defi", "arxiv-defi"} <= set(
        registry.sources
    )
    with pytest.raises(Exception, match="unknown source"):
        registry.get("nope")
    with pytest.raises(Exception, match="kind"):
        build_source({"name": "x", "kind": "ftp"})
    config = tmp_path / "sources.toml"
    config.write_text(
        '[[source]]\nname = "a"\nkind = "web"\nurl = "https://example.org"\n'
        '[[source]]\nname = "b"\nkind = "web"\nurl = "https://x.org"\nenabled = false\n'
    )
    assert list(load_registry(config).sources) == ["a"]
    docs = load_jsonl(shared_data_dir / "strategy_texts.jsonl", NOW)
    assert len(docs) == 42 and docs[0].provenance["id"] == "st001"
    assert resolve_source(str(shared_data_dir / "strategy_texts.jsonl")) == (
        shared_data_dir / "strategy_texts.jsonl"
    )
    with pytest.raises(Exception, match="http"):
        resolve_source("file:///etc/passwd")


def test_html_to_text_drops_scripts() -> None:
    assert (
        html_to_text("<p>a &amp; b</p><script>x()</script><style>p{}</style><p>c</p>")
        == "a & b\n\nc"
    )
