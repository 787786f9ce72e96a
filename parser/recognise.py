"""Deterministic recognition of strategy features in English text (used by the offline parser).

Everything here is plain regular expressions over the cleaned text (see :mod:`parser.guard`):

* **family**: weighted cue phrases per :class:`core.spec.Family`; the title counts double; ties go
  to the more specific family (``FAMILY_PRIORITY``).
* **assets**: known tickers/names (:mod:`parser.vocabulary`) that are *principal* - held, traded or
  deposited. Mentions that only describe rewards ("earn CRV and CVX", "LQTY rewards"), holders of a
  token, infrastructure the text uses ("Chainlink oracles"), backtest data sources or benchmarks,
  and anything inside a URL, do not count.
* **parameters**: moving-average periods (with the asset they belong to), RSI period and
  thresholds, Bollinger settings, stop loss / take profit / trailing stop (fractions, 0.015 =
  1.5 %), rebalance cadence, lookback days, ratio pairs (``ETH/BTC``), idle-cash lending.
* **unsupported features**: cues for leverage, flash loans, LP fees, staking rewards, token
  incentives, futures, intraday cadence, governance and discretionary management.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parser.risk_phrases import RiskFeatures, extract_risk
from parser.vocabulary import (
    ASSETS,
    STABLECOINS,
    asset_mentions,
    find_protocols,
    iter_asset_mentions,
    strip_placeholders,
)

W = 1.0
FAMILY_CUES: dict[str, list[tuple[str, float]]] = {
    "pair_ratio": [
        (r"pair[- ]trad", 3),
        (r"statistical arbitrage", 3),
        (r"\bz-?score", 2),
        (r"ratio\b.{0,60}\b(revert|equilibrium)", 2),
    ],
    "leveraged_lending": [
        (r"\bfold(ing)?\b", 3),
        (r"\bborrows?\b.{0,60}\b(repeatedly|redeposit|re-deposit)", 3),
        (r"\bleverag(ed|ing)\b(?!\s+exposure)", 2),
        (r"\bflash ?loans?\b", 2),
        (r"loan[- ]to[- ](collateral|value)", 2),
        (r"\bmints? (dai|susd)\b", 2),
        (r"\bloan is taken\b", 2),
        (r"multi-lending", 2),
    ],
    "yield_rotation": [
        (r"\bwhichever\b.{0,30}\b(best|higher|highest)\b", 4),
        (r"\b(best|highest|higher)\s+(yield|apy|apr|supply rate|rate)\b", 2),
        (r"\brotat(e|es|ion|ing)\b", 3),
        (r"proportions are adjusted", 4),
        (r"\bswitch(es|ing)?\s+between\b", 3),
    ],
    "lending": [
        (r"\bsuppl(y|ies|ying)\b", 1),
        (r"lending (protocol|platform|market|pool)", 1),
        (r"generate interest|earn(s|ing)? interest", 1),
        (r"\bfixed[- ]rate\b", 2),
        (r"\b(migrate|move|deposit)\w*\b.{0,40}\b(aave|compound)\b", 2),
    ],
    "staking": [
        (r"\bstak(e|es|ed|ing)\b", 1),
        (r"staking rewards", 2),
        (r"share of .{0,30}\bfees\b", 2),
        (r"\bmaxi\b", 2),
        (r"\bto earn (crv|cvx|bal)\b", 1),
    ],
    "liquidity_provision": [
        (r"\bLP\b", 1),
        (r"liquidity provi", 2),
        (r"liquidity (position|deployment|redeployment|pool)", 2),
        (r"concentrated|in range", 2),
        (r"\bfarm\b", 1),
        (r"\bmetapools?\b", 1),
        (r"\buniswap v3\b", 1),
        (r"\bswap fee\b", 1),
        (r"\bpool\b", 0.5),
    ],
    "index": [
        (r"\bindex(ing)?\b", 2),
        (r"buys and holds all", 2),
        (r"\bequal(ly)? weight", 1),
        (r"\bconstituents?\b", 1),
    ],
    "multi_strategy": [
        (r"multi-?strateg", 3),
        (r"vault[- ]of[- ]vaults", 3),
        (r"\ballocat\w*\s+across\b", 2),
        (r"\bcombines\b.{0,40}\b(and|with)\b", 2),
        (r"dual signal", 2),
        (r"multi-vault", 3),
    ],
    "breakout": [(r"break-?out", 2), (r"break(ing|s)? (up|out|above)", 2), (r"new highs?", 1)],
    "mean_reversion": [
        (r"mean[- ]reversion", 2),
        (r"\brevert", 1),
        (r"oversold", 2),
        (r"lower[_ ]b(b|ollinger|and)|bollinger", 2),
        (r"consecutive closes", 2),
    ],
    "ma_crossover": [
        (r"cross(over|es|ing)", 2),
        (r"moving averages?\b", 1),
        (r"\b[SE]?MA\b", 1),
        (r"\bMACD\b", 2),
        (r"golden cross", 2),
        (r"above (?:its |the )?\d{1,3}[- ]day (?:simple )?average", 2),  # a regime filter on an MA
    ],
    "momentum": [
        (r"momentum", 2),
        (r"trend[- ]follow", 2),
        (r"\bRSI\b", 1),
        (r"\buptrend\b", 1),
        (r"relative strength", 1),
    ],
    "other": [
        (r"stability pool", 2),
        (r"buyback", 2),
        (r"\bdiscretion", 3),
        (r"whitelist", 1),
        (r"dhedge", 1),
        (r"\bbook\b", 1),
    ],
}
#: Ties go to the earlier (more specific) family.
FAMILY_PRIORITY = [
    "pair_ratio",
    "multi_strategy",
    "leveraged_lending",
    "yield_rotation",
    "index",
    "breakout",
    "mean_reversion",
    "ma_crossover",
    "momentum",
    "staking",
    "liquidity_provision",
    "lending",
    "other",
]

UNSUPPORTED_CUES: dict[str, str] = {
    "leverage": r"\bleverag|\bfold(ing)?\b|\bborrows?\b|loan[- ]to[- ](collateral|value)"
    r"|\bmints? (dai|susd)\b",
    "flash_loans": r"flash ?loan",
    "lp_fees": r"\blp\b|liquidity provi|trading fees|\bswap fee",
    "impermanent_loss": r"impermanent loss|concentrated|liquidity (position|pool)|\bamm\b",
    "staking_rewards": r"\bstak(e|es|ed|ing)\b",
    "token_incentives": r"\brewards?\b|liquidity mining|incentiv|\bearn (crv|cvx|comp|lqty|bal)\b",
    "futures": r"perpetual|futures",
    "intraday": r"rebalanc\w*\s+every\s+(\d+|one|two|four|six|twelve)\s+hours|hourly"
    r"|\b\d+[- ]?(minute|min|hour|h)[- ](candle|bar|chart|timeframe)s?\b|intrabar",
    "governance": r"\b(mip|tdp|mccp|proposal|governors?)\b",
    "discretionary": r"discretion",
}
HARD_UNSUPPORTED = frozenset({"leverage", "flash_loans", "futures", "intraday", "lp_fees"})

_URL = re.compile(r"\]\([^)]*\)|https?://\S+|\bwww\.\S+|`[^`\n]*`")
_REWARD_BEFORE = re.compile(
    r"(?i)\b(earn\w*|accru\w*|harvest\w*|claim\w*|liquidat\w*|farm\w*|mining)\b[^.\n]{0,40}$"
)
_REWARD_AFTER = re.compile(r"(?i)^[^.\n]{0,12}\b(rewards?|emissions?)\b")
_HOLDERS_AFTER = re.compile(
    r"(?i)^[^.\n]{0,25}\b(holders|(liquidity )?providers|users)\b|^[^.\n]{0,30}(`|\.sol\b)"
)
_PRODUCT_BEFORE = re.compile(r"(?i)interest[- ]bearing\s+$")
#: Infrastructure a text uses, not an asset it trades ("Chainlink oracles", "Chainlink price feeds").
_INFRA_AFTER = re.compile(
    r"(?i)^[^.\n]{0,15}\b(oracles?|price feeds?|data feeds?|keepers?|automation|vrf|ccip)\b"
)
_NEGATED = re.compile(r"(?i)\b(no|not|without|never|zero|excluded?)\b[^.\n]{0,25}$")
#: Chain names are not holdings ("built on Ethereum", "specifically Ethereum").
_CHAIN_NAMES = frozenset({"ethereum", "solana"})
_NOISE_SENTENCE = re.compile(r"(?i)backtest\w*\b.{0,80}\bdata\b|benchmark|buy(ing)? and hold|[:-]\s*$")


def sentence_of(text: str, pos: int) -> tuple[int, int]:
    start = max(text.rfind("\n", 0, pos), text.rfind(". ", 0, pos) + 1, 0)
    ends = [i for i in (text.find("\n", pos), text.find(". ", pos)) if i != -1]
    return start, (min(ends) if ends else len(text))


@dataclass
class Features:
    family_scores: dict[str, float]
    assets: list[str]  # principal, in order of first mention
    protocols: list[str]
    ma_periods: list[tuple[int, str | None]] = field(default_factory=list)  # (period, asset)
    rsi_period: int | None = None
    rsi_low: float | None = None
    rsi_high: float | None = None
    bb_period: int | None = None
    bb_k: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None
    cadence: str | None = None
    lookback_days: int | None = None
    pair: tuple[str, str] | None = None
    long_asset: str | None = None
    idle_cash: tuple[str, str] | None = None  # (lending protocol id, asset)
    risk: RiskFeatures = field(default_factory=RiskFeatures)  # issue 15's risk tools
    unsupported: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    @property
    def family(self) -> str:
        best = max(self.family_scores.values(), default=0.0)
        if best <= 0:
            return "other"
        return next(f for f in FAMILY_PRIORITY if self.family_scores.get(f, 0.0) == best)

    @property
    def margin(self) -> float:
        ranked = [*sorted(self.family_scores.values(), reverse=True), 0.0, 0.0]
        return (ranked[0] - ranked[1]) / ranked[0] if ranked[0] else 0.0


def _compile(pattern: str) -> tuple[re.Pattern[str], bool]:
    """(regex, runs_on_original_text). Patterns naming upper-case tokens (RSI, LP, MACD) match the
    original text case-sensitively; all others match the lower-cased text (much faster than
    ``re.IGNORECASE``, which defeats the engine's literal-prefix search)."""
    if re.search(r"[A-Z]{2}", pattern):
        return re.compile(pattern), True
    return re.compile(pattern), False


_FAMILY_RES = {f: [(_compile(p), w) for p, w in cues] for f, cues in FAMILY_CUES.items()}
_UNSUPPORTED_RES = {name: _compile(p) for name, p in UNSUPPORTED_CUES.items()}


def score_families(text: str, title: str) -> tuple[dict[str, float], list[tuple[int, int]]]:
    scores: dict[str, float] = {}
    spans: list[tuple[int, int]] = []
    lower, lower_title = text.lower(), title.lower()
    for family, cues in _FAMILY_RES.items():
        total = 0.0
        for (regex, original), weight in cues:
            hits = []
            for m in regex.finditer(text if original else lower):
                hits.append(m)
                if len(hits) == 3:  # a cue counts at most three times
                    break
            total += weight * len(hits)
            total += 2 * weight * (regex.search(title if original else lower_title) is not None)
            spans.extend((m.start(), m.end()) for m in hits[:1])
        scores[family] = total
    return scores, spans


def principal_assets(text: str) -> list[str]:
    """Assets with at least one mention that is not a reward, holder, URL or data-source mention."""
    masked = _URL.sub(lambda m: " " * len(m.group(0)), strip_placeholders(text))
    found: dict[str, None] = {}
    for ticker, match in iter_asset_mentions(masked):
        if ticker in found:
            continue
        before = masked[max(0, match.start() - 60) : match.start()]
        after = masked[match.end() : match.end() + 30]
        s, e = sentence_of(masked, match.start())
        if (
            match.group(0).lower() in _CHAIN_NAMES
            or _PRODUCT_BEFORE.search(before)
            or _REWARD_BEFORE.search(before)
            or _REWARD_AFTER.search(after)
            or _HOLDERS_AFTER.search(after)
            or _INFRA_AFTER.search(after)
            or _NOISE_SENTENCE.search(masked[s:e])
        ):
            continue
        found[ticker] = None
    return list(found)


def _pct(value: str) -> float:
    return round(abs(float(value)) / 100.0, 6)


_NUM_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_MA = re.compile(
    r"(?i)(\d{1,3})[- ]?(?:day|period|bar|d)?s?\s*(?:simple\s+|exponential\s+)?"
    r"(?:moving average|\bS?MA\b|\bEMA\b)"
    r"|\b(?:S?MA|EMA)\s*\(?\s*(\d{1,3})\b"
)


def extract_parameters(text: str, features: Features) -> None:
    for match in _MA.finditer(text):
        period = int(match.group(1) or match.group(2))
        if not 2 <= period <= 365:
            continue
        s, _e = sentence_of(text, match.start())
        window = text[max(0, s - 200) : match.start()]
        owner = None
        best = -1
        for ticker in features.assets:
            for m in asset_mentions(window, ticker):
                if m.start() > best:
                    best, owner = m.start(), ticker
        features.ma_periods.append((period, owner))
    if found1 := re.search(r"(?i)\bRSI\s*\(?\s*(\d{1,2})\b", text):
        features.rsi_period = int(found1.group(1))
    for m in re.finditer(r"(?i)\bRSI\b[^.\n]{0,30}?\b(below|under|<|above|over|>)\s*(\d{1,2})\b", text):
        if m.group(1).lower() in ("below", "under", "<"):
            features.rsi_low = float(m.group(2))
        else:
            features.rsi_high = float(m.group(2))
    if re.search(r"(?i)bollinger|lower[_ ]bb|\bbb_", text):
        features.bb_period = 20
        features.bb_k = 2.0
        if found2 := re.search(r"(?i)(\d(?:\.\d)?)\s*standard deviations?", text):
            features.bb_k = float(found2.group(1))
    stop = (
        r"(?i)stop[- ]?loss(?!\s+limit)[\s\S]{0,80}?-?(\d+(?:\.\d+)?)\s*%"
        r"|loss (?:greater|more) than -?(\d+(?:\.\d+)?)\s*%"
        r"|(\d+(?:\.\d+)?)\s*%\s*stop[- ]?loss"
    )
    if found3 := re.search(stop, text):
        features.stop_loss = _pct(found3.group(1) or found3.group(2) or found3.group(3))
    take = r"(?i)take[- ]?profit[\s\S]{0,80}?\+?(\d+(?:\.\d+)?)\s*%|reaches \+?(\d+(?:\.\d+)?)\s*% gain"
    if found4 := re.search(take, text):
        features.take_profit = _pct(found4.group(1) or found4.group(2))
    if found5 := re.search(r"(?i)trailing stop[^\n%]{0,40}?(\d+(?:\.\d+)?)\s*%", text):
        features.trailing_stop = _pct(found5.group(1))
    cadence = re.search(
        r"(?i)\b(daily|weekly|monthly|quarterly)\s+(rebalanc|decision)|rebalanc\w*\s+(daily|weekly|monthly|quarterly)"
        r"|decision cycle is (daily|one day|weekly)|once per (quarter|month|week)",
        text,
    )
    if cadence:
        word = next(g for g in cadence.groups() if g and not g.lower().startswith(("rebalanc", "decision")))
        features.cadence = {
            "one day": "daily",
            "quarter": "quarterly",
            "month": "monthly",
            "week": "weekly",
        }.get(word.lower(), word.lower())
    if found6 := re.search(
        r"(?i)rolling (\d{1,3})[- ]day|(\d{1,3})[- ]day (?:lookback|returns?|momentum)", text
    ):
        features.lookback_days = int(found6.group(1) or found6.group(2))
    for m in re.finditer(r"\b([A-Z]{2,6})\s*/\s*([A-Z]{2,6})\b", text):
        a, b = m.group(1), m.group(2)
        if a in ASSETS and b in ASSETS and a not in STABLECOINS and b not in STABLECOINS:
            features.pair = (a, b)
            break
    if found7 := re.search(r"(?i)\blong (?:positions? )?(?:in |on )?([A-Za-z]{2,6})\b", text):
        cand = found7.group(1).upper()
        features.long_asset = cand if cand in features.assets else None
    idle = re.search(
        r"(?i)(idle|excess|uninvested|spare)\s+cash[^.\n]{0,60}?\baave\s*(v[123])?[^.\n]{0,20}?\b(USDC|USDT|DAI)\b",
        text,
    )
    if idle:
        features.idle_cash = (f"aave_{(idle.group(2) or 'v2').lower()}", idle.group(3).upper())


def recognise(text: str, title: str = "") -> Features:
    scores, spans = score_families(text, title)
    features = Features(scores, principal_assets(title + "\n" + text), find_protocols(text))
    extract_parameters(text, features)
    features.risk = extract_risk(text)
    lower = text.lower()
    for name, (regex, original) in _UNSUPPORTED_RES.items():
        for m in regex.finditer(text if original else lower):
            if not _NEGATED.search(text[max(0, m.start() - 40) : m.start()]):
                features.unsupported.append(name)
                break
    for start, _end in sorted(spans)[:6]:
        s, e = sentence_of(text, start)
        quote = text[s:e].strip(" .\n\t-*#>")
        if len(quote) >= 10 and quote[:300] not in features.evidence:
            features.evidence.append(quote[:300])
    return features
