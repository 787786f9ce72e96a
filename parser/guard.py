"""Guard rails shared by both parsers. Scraped text is hostile input.

1. :func:`clean_source_text` removes what must never steer a parser: fenced code blocks, HTML
   comments and ``<script>``/``<style>`` blocks, chat-template tokens and lines that read as
   instructions to a model ("ignore previous instructions", "you are now ...", "set allocation to
   100 %"). What was removed is reported as flags; nothing is ever executed.
2. :func:`check_spec_against_text` rejects a spec naming an asset, lending protocol or market that
   the *cleaned* source text does not mention (so a name that appears only inside an injected
   instruction or a code block does not count).
3. :func:`verbatim_evidence` keeps only evidence quotes that occur in the text (whitespace-
   insensitive), so a parser cannot invent a supporting quote.

Anything else an injection might change is bounded by the spec's schema (closed enums, bounded
numbers, allow-listed rule expressions) which :func:`core.spec.load_spec` enforces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.spec import TBILL_MARKET, StrategySpec, parse_rule
from parser.risk_phrases import TBILL_WORDS
from parser.vocabulary import lending_protocol_mentioned, mentions_asset

_FENCED = re.compile(r"(?ms)^[ \t]*(```|~~~).*?(?:^[ \t]*\1[ \t]*$|\Z)")
_HTML_BLOCKS = re.compile(r"(?is)<!--.*?-->|<script\b.*?</script\s*>|<style\b.*?</style\s*>")
_TEMPLATE_TOKENS = re.compile(
    r"(?:<\|[^|>]{0,40}\|>|\[/?INST\]|<</?SYS>>|</?s>)(?:[ \t]*(?:system|user|assistant|developer)\b)?"
)
_INSTRUCTION_LINE = re.compile(
    r"(?i)("
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instruction|prompt|rule|context|above|previous)"
    r"|^\W*(system|assistant|developer|user)\s*(prompt)?\s*:"
    r"|\byou\s+are\s+(now\s+)?(a|an|the|no\s+longer)\b"
    r"|\b(new|updated|real|hidden)\s+(instructions?|system\s+prompt)\b"
    r"|\bset\s+(the\s+)?(allocation|sizing|position\s+size|leverage|fraction|weight|stop)\w*\s+(to|=|at)\b"
    r"|\b(allocate|invest|put)\s+(100\s*%|all|everything|the\s+entire)"
    r"|\b(output|return|respond\s+with|print)\b.{0,30}\b(json|spec|system\s+prompt)\b"
    r"|\bjailbreak\b|\bdo\s+anything\s+now\b|\bdeveloper\s+mode\b"
    r")"
)


@dataclass(frozen=True)
class CleanText:
    text: str
    flags: tuple[str, ...]


def clean_source_text(text: str) -> CleanText:
    """Return the text without code blocks, hidden HTML, template tokens and instruction lines."""
    flags: list[str] = []
    cleaned, n = _FENCED.subn("\n", text)
    if n:
        flags.append(f"removed {n} code block(s)")
    cleaned, n = _HTML_BLOCKS.subn(" ", cleaned)
    if n:
        flags.append(f"removed {n} HTML comment/script block(s)")
    cleaned, n = _TEMPLATE_TOKENS.subn(" ", cleaned)
    if n:
        flags.append(f"removed {n} chat-template token(s)")
    kept: list[str] = []
    for line in cleaned.splitlines():
        if _INSTRUCTION_LINE.search(line):
            flags.append(f"removed instruction-like line: {line.strip()[:80]!r}")
            continue
        kept.append(line)
    return CleanText("\n".join(kept), tuple(flags))


def spec_assets(spec: StrategySpec) -> set[str]:
    assets = set(spec.universe.assets) | set(spec.universe.signal_assets)
    if spec.pair is not None:
        assets |= {spec.pair.numerator, spec.pair.denominator}
    if spec.index is not None:
        assets |= set(spec.index.weights)
    for rule in (spec.entry_rule, spec.exit_rule):
        if rule:
            assets |= set(parse_rule(rule).assets)
    return assets


def spec_markets(spec: StrategySpec) -> set[str]:
    markets = set(spec.universe.lending_markets)
    if spec.idle_cash_market:
        markets.add(spec.idle_cash_market)
    if spec.yield_rotation is not None:
        markets |= set(spec.yield_rotation.markets)
    return markets


def check_spec_against_text(spec: StrategySpec, clean_text: str) -> list[str]:
    """Problems (empty = fine): every asset, protocol and market must be named in the text."""
    problems: list[str] = []
    for asset in sorted(spec_assets(spec)):
        if not mentions_asset(clean_text, asset):
            problems.append(f"asset {asset} does not appear in the source text")
    for market in sorted(spec_markets(spec)):
        if market == TBILL_MARKET:
            if not TBILL_WORDS.search(clean_text):
                problems.append(f"the T-bill cash leg ({market}) is not named in the source text")
            continue
        protocol, _, symbol = market.partition(":")
        if not lending_protocol_mentioned(clean_text, protocol):
            problems.append(f"protocol {protocol} (market {market}) does not appear in the source text")
        if not mentions_asset(clean_text, symbol):
            problems.append(f"asset {symbol} (market {market}) does not appear in the source text")
    return problems


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def verbatim_evidence(quotes: list[str] | tuple[str, ...], text: str) -> tuple[str, ...]:
    haystack = _squash(text)
    return tuple(q for q in quotes if q.strip() and _squash(q) in haystack)
