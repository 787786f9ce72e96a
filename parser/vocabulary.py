"""What the parsers can recognise in English text: assets, protocols, and how to find them.

Shared by the offline parser (to find things) and the guard rails (to check that whatever a parser
claims is actually written in the source text). Matching rules:

* tickers are matched case-sensitively as whole words (``ETH`` but not ``ethics``); names
  ("Ethereum", "Bitcoin") case-insensitively. Mixed-case tickers keep their usual spelling
  (``stETH``, ``mUSD``, ``crvUSD``). ``{{placeholders}}`` never match anything.
* the ticker ``AAVE`` is also the protocol's name: it counts as an *asset* only in token contexts
  ("AAVE token", "AAVE/ETH", "buy AAVE"); otherwise it is the protocol.
* protocols are matched case-insensitively by their names and common spellings; ids are the
  lower-case names used in labels (``aave``, ``iron_bank``). Lending protocols map to the
  :class:`core.spec.LendingProtocol` ids (``aave_v2``) when a version is written.
"""

from __future__ import annotations

import re
from functools import cache

#: canonical ticker -> regex alternatives (case-sensitive unless prefixed with (?i)).
ASSETS: dict[str, tuple[str, ...]] = {
    "BTC": ("BTC", "XBT", "(?i:bitcoin)"),
    "WBTC": ("WBTC", "wBTC"),
    "ETH": ("ETH", "(?i:ethereum)(?!\\s+(?:mainnet|blockchain|network))", "(?i:ether)"),
    "WETH": ("WETH", "wETH"),
    "STETH": ("stETH", "STETH"),
    "WSTETH": ("wstETH",),
    "SOL": ("SOL", "(?i:solana)"),
    "LINK": ("LINK", "(?i:chainlink)"),
    "UNI": ("UNI",),
    "AAVE": ("AAVE",),
    "MATIC": ("MATIC", "(?i:matic)"),
    "WMATIC": ("WMATIC",),
    "CRV": ("CRV",),
    "CVX": ("CVX",),
    "COMP": ("COMP",),
    "MKR": ("MKR",),
    "SNX": ("SNX",),
    "YFI": ("YFI",),
    "LQTY": ("LQTY",),
    "BAL": ("BAL",),
    "MTA": ("MTA",),
    "BIFI": ("BIFI",),
    "GMX": ("GMX",),
    "DOGE": ("DOGE", "(?i:dogecoin)"),
    "PEPE": ("PEPE",),
    "ARB": ("ARB",),
    "OP": ("OP",),
    "USDC": ("USDC",),
    "USDT": ("USDT", "(?i:tether)"),
    "DAI": ("DAI",),
    "FRAX": ("FRAX",),
    "LUSD": ("LUSD",),
    "BUSD": ("BUSD",),
    "TUSD": ("TUSD",),
    "GUSD": ("GUSD",),
    "SUSD": ("sUSD", "SUSD"),
    "MUSD": ("mUSD", "MUSD"),
    "MBTC": ("mBTC", "MBTC"),
    "USDE": ("USDe", "USDE"),
    "CRVUSD": ("crvUSD",),
    "USDAI": ("USDai",),
    "USDT0": ("USD₮0", "USDT0"),
    "GHO": ("GHO",),
    "UST": ("UST",),
}

STABLECOINS = frozenset(
    {
        "USDC",
        "USDT",
        "DAI",
        "FRAX",
        "LUSD",
        "BUSD",
        "TUSD",
        "GUSD",
        "SUSD",
        "MUSD",
        "USDE",
        "CRVUSD",
        "USDAI",
        "USDT0",
        "GHO",
        "UST",
    }
)

#: protocol id -> case-insensitive regex alternatives.
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "aave": ("aave",),
    # Case-sensitive: "compound" and "curve" are ordinary English words ("compound interest").
    "compound": ("(?-i:Compound)(?!\\s+(?:annual|interest|growth))", "compound\\.finance"),
    "uniswap": ("uniswap",),
    "quickswap": ("quickswap",),
    "sushiswap": ("sushiswap", "sushi"),
    "curve": ("curve\\.fi", "curve\\s+finance", "(?-i:Curve|CURVE)", "3pool", "3crv"),
    "convex": ("convex",),
    "lido": ("lido",),
    "liquity": ("liquity",),
    "makerdao": ("makerdao", "maker\\s+(?:dao|vault)", "oasis\\.app"),
    "synthetix": ("synthetix",),
    "yearn": ("yearn", "yvault", "yvboost"),
    "dydx": ("dydx",),
    "cream": ("c\\.r\\.e\\.a\\.m\\.", "cream\\s+finance", "app\\.cream"),
    "iron_bank": ("iron\\s+bank", "ironbank"),
    "scream": ("scream",),
    "notional": ("notional(?:\\s+finance)?",),
    "balancer": ("balancer",),
    "beefy": ("beefy",),
    "pendle": ("pendle",),
    "gmx": ("gmx",),
    "morpho": ("morpho",),
    "euler": ("euler",),
    "gains": ("gains\\s+network", "gtrade"),
    "hyperliquid": ("hyperliquid",),
    "dhedge": ("dhedge",),
    "visor": ("visor(?:\\s+finance)?",),
    "ondo": ("ondo(?:\\s+finance)?",),
    "gamma": ("gamma\\s+strategies",),
    "cowswap": ("cowswap", "cow\\s+swap"),
    "alchemix": ("alchemix",),
    "rari": ("rari(?:\\s+capital)?",),
    "fei": ("fei(?:\\s+(?:tribe|protocol))?",),
    "oneinch": ("1inch",),
    "ethena": ("ethena",),
    "spark": ("spark(?:lend|\\s+protocol)",),
    "pancakeswap": ("pancakeswap",),
}

#: Tickers that are also protocol names count as assets only in token contexts.
PROTOCOL_TICKERS = frozenset({"AAVE", "GMX"})
_TOKEN_CONTEXT = {
    t: re.compile(
        rf"{t}(?:/(?:USD|USDC|USDT|ETH|BTC)\b|-USD\b|\s+(?:tokens?|price|holdings?)\b)"
        rf"|(?:/|\bbuy\s+|\bhold\s+|\bsell\s+){t}\b"
    )
    for t in PROTOCOL_TICKERS
}
_URLS = re.compile(r"\]\([^)]*\)|https?://\S+|\bwww\.\S+")


def mask_urls(text: str) -> str:
    """Blank out URLs (and markdown link targets) so their paths never count as mentions."""
    return _URLS.sub(lambda m: " " * len(m.group(0)), text)


@cache
def asset_pattern(ticker: str) -> re.Pattern[str]:
    alternatives = "|".join(ASSETS[ticker])
    # Word boundaries that also refuse placeholder braces and code identifiers (a_b, a.b()).
    return re.compile(rf"(?<![\w{{.$])(?:{alternatives})(?![\w}}]|\.\w)")


@cache
def protocol_pattern(protocol: str) -> re.Pattern[str]:
    return re.compile(rf"(?i)(?<![\w{{])(?:{'|'.join(PROTOCOLS[protocol])})(?![\w}}])")


def strip_placeholders(text: str) -> str:
    return re.sub(r"\{\{\s*\w+\s*\}\}", " ", text)


def asset_mentions(text: str, ticker: str) -> list[re.Match[str]]:
    """Matches of ``ticker`` in ``text`` (placeholders removed, AAVE only in token contexts)."""
    if ticker not in ASSETS:
        return []
    text = mask_urls(strip_placeholders(text))
    if ticker in PROTOCOL_TICKERS:
        return list(_TOKEN_CONTEXT[ticker].finditer(text))
    return list(asset_pattern(ticker).finditer(text))


def mentions_asset(text: str, ticker: str) -> bool:
    return bool(asset_mentions(text, ticker))


def mentions_protocol(text: str, protocol: str) -> bool:
    if protocol not in PROTOCOLS:
        return False
    return protocol_pattern(protocol).search(strip_placeholders(text)) is not None


def lending_protocol_mentioned(text: str, lending_id: str) -> bool:
    """Is a :class:`core.spec.LendingProtocol` id (``aave_v2``, ``compound_v3``) named in ``text``?

    The protocol's name must appear; a version suffix is accepted when the text names that version
    or names no version at all (an unversioned "Aave" supports any Aave market).
    """
    base, _, version = lending_id.partition("_")
    name = {"aave": "aave", "compound": "compound", "spark": "spark", "morpho": "morpho"}.get(base)
    if name is None or not mentions_protocol(text, name):
        return False
    if not version:
        return True
    versions = set(re.findall(rf"(?i){name}(?:\s+|[-_])?(v\d)\b", text))
    return not versions or version.lower() in {v.lower() for v in versions}


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


@cache
def _all_assets() -> re.Pattern[str]:
    parts = [f"(?P<a_{_group(t)}>{'|'.join(alts)})" for t, alts in ASSETS.items()]
    return re.compile(rf"(?<![\w{{.$])(?:{'|'.join(parts)})(?![\w}}]|\.\w)")


@cache
def _all_protocols() -> re.Pattern[str]:
    parts = [f"(?P<p_{_group(p)}>{'|'.join(alts)})" for p, alts in PROTOCOLS.items()]
    return re.compile(rf"(?i)(?<![\w{{])(?:{'|'.join(parts)})(?![\w}}])")


_GROUP_TO_ASSET = {f"a_{_group(t)}": t for t in ASSETS}
_GROUP_TO_PROTOCOL = {f"p_{_group(p)}": p for p in PROTOCOLS}


def iter_asset_mentions(text: str) -> list[tuple[str, re.Match[str]]]:
    """All ``(ticker, match)`` pairs in one pass (placeholders removed; protocol tickers in token
    contexts only)."""
    text = strip_placeholders(text)
    out: list[tuple[str, re.Match[str]]] = []
    for match in _all_assets().finditer(text):
        ticker = _GROUP_TO_ASSET[str(match.lastgroup)]
        if ticker not in PROTOCOL_TICKERS:
            out.append((ticker, match))
    for ticker in PROTOCOL_TICKERS:
        out.extend((ticker, m) for m in _TOKEN_CONTEXT[ticker].finditer(text))
    return sorted(out, key=lambda pair: pair[1].start())


def find_assets(text: str) -> list[str]:
    """Every known asset mentioned in ``text``, in order of first mention."""
    seen: dict[str, None] = {}
    for ticker, _match in iter_asset_mentions(text):
        seen.setdefault(ticker, None)
    return list(seen)


def find_protocols(text: str) -> list[str]:
    """Every known protocol named in ``text`` (URLs ignored), in order of first mention."""
    seen: dict[str, None] = {}
    for match in _all_protocols().finditer(mask_urls(strip_placeholders(text))):
        seen.setdefault(_GROUP_TO_PROTOCOL[str(match.lastgroup)], None)
    return list(seen)
