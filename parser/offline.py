"""``OfflineParser``: deterministic rules, no network, no model. The default without an LLM.

Pipeline per text: :func:`parser.guard.clean_source_text` -> :func:`parser.recognise.recognise` ->
a spec built from the recognised family, assets and parameters -> :func:`core.spec.load_spec` ->
:func:`parser.guard.check_spec_against_text`. Defaults used when the text names a family but no
number (e.g. a crossover without periods uses 50/200) are listed in ``DEFAULTS`` and lower the
confidence. A family the engine cannot simulate honestly, or a backtestable family missing what it
needs (no asset, fewer than two lending markets), yields a spec with ``backtestable = false`` and the
reasons in ``unsupported_features`` / ``unsupported_reason``.
"""

from __future__ import annotations

from typing import Any

from core.spec import BACKTESTABLE_FAMILIES, LendingProtocol, SpecError, load_spec
from core.spec.rules import TICKER_RE
from parser.guard import check_spec_against_text, clean_source_text, verbatim_evidence
from parser.recognise import HARD_UNSUPPORTED, Features, recognise
from parser.result import ParseResult, ParseUsage
from parser.risk_phrases import apply_risk
from parser.vocabulary import STABLECOINS, lending_protocol_mentioned

DEFAULTS = {"fast": 50, "slow": 200, "breakout": 20, "bb": 20, "rsi": 14, "lookback": 30}
_LENDING_IDS = [p.value for p in LendingProtocol]


def _markets(text: str, assets: list[str], stable_only: bool) -> list[str]:
    protocols: list[str] = []
    for pid in ("aave_v3", "aave_v2", "aave_v1", "compound_v3", "compound", "spark", "morpho"):
        base = pid.split("_")[0]
        if any(p.startswith(base) for p in protocols):
            continue
        versioned = pid != base and pid.split("_")[1] in text.lower().replace(" ", "")
        if lending_protocol_mentioned(text, pid) and (versioned or pid in ("aave_v2", "compound")):
            protocols.append(pid)
    symbols = [a for a in assets if a in STABLECOINS or not stable_only]
    return [f"{p}:{s}" for p in protocols for s in symbols if p in _LENDING_IDS][:10]


def _rule_for(features: Features, family: str, asset: str) -> tuple[str | None, str | None, bool]:
    """(entry, exit, used_defaults) for a rule family."""
    if family == "ma_crossover":
        own = [p for p, owner in features.ma_periods if owner in (asset, None)]
        filters = [
            f'close("{o}") > sma(close("{o}"), {p})' for p, o in features.ma_periods if o not in (asset, None)
        ]
        if len(own) >= 2:
            fast, slow = sorted(own[:2])
            entry = f"sma(close, {fast}) > sma(close, {slow})" if fast != slow else None
            entry = entry or f"close > sma(close, {fast})"
        elif own:
            entry = f"close > sma(close, {own[0]})"
        elif features.risk.regime_ma is not None:  # "only hold while above the 200-day average"
            return " and ".join([f"close > sma(close, {features.risk.regime_ma})", *filters]), None, False
        else:
            entry = f"sma(close, {DEFAULTS['fast']}) > sma(close, {DEFAULTS['slow']})"
        if features.pair and asset in features.pair:
            a, b = features.pair
            filters.append(f'sma(ratio("{a}", "{b}"), 20) > sma(ratio("{a}", "{b}"), 50)')
        return " and ".join([entry, *filters]), None, not own
    if family == "breakout":
        n = DEFAULTS["breakout"]
        return f"close > highest(high, {n})", f"close < lowest(low, {n // 2})", True
    if family == "mean_reversion":
        if features.rsi_low is not None or (features.rsi_period and features.bb_period is None):
            period = features.rsi_period or DEFAULTS["rsi"]
            low, high = features.rsi_low or 30, features.rsi_high or 70
            return f"rsi(close, {period}) < {low:g}", f"rsi(close, {period}) > {high:g}", False
        n, k = features.bb_period or DEFAULTS["bb"], features.bb_k or 2.0
        return (
            f"close < bb_lower(close, {n}, {k:g})",
            f"close > bb_mid(close, {n})",
            features.bb_period is None,
        )
    return None, None, True


def build_spec_data(features: Features, text: str, title: str, source_ref: str | None) -> dict[str, Any]:
    family = features.family
    traded = [a for a in features.assets if a not in STABLECOINS]
    stables = [a for a in features.assets if a in STABLECOINS]
    data: dict[str, Any] = {
        "name": (title or text.strip().splitlines()[0] if text.strip() else "untitled")[:120] or "untitled",
        "family": family,
        "source_ref": source_ref[:500] if source_ref else None,
        "evidence": [q[:1000] for q in features.evidence[:5]],
    }
    risk = {
        k: v
        for k, v in (
            ("stop_loss", features.stop_loss),
            ("take_profit", features.take_profit),
            ("trailing_stop", features.trailing_stop),
        )
        if v is not None and v <= 0.9
    }
    if risk:
        data["risk"] = risk
    if features.cadence:
        data["rebalance"] = features.cadence
    missing: list[str] = []
    hard = [u for u in features.unsupported if u in HARD_UNSUPPORTED]
    if family in ("ma_crossover", "breakout", "mean_reversion", "momentum", "index") and not traded:
        missing.append("no tradable asset is named")
    if family == "pair_ratio":
        if features.pair is None:
            missing.append("no asset pair like ETH/BTC is named")
        else:
            a, b = features.pair
            long_asset = features.long_asset if features.long_asset in (a, b) else a
            other = b if long_asset == a else a
            num, den = long_asset, other
            data["universe"] = {"assets": [long_asset], "signal_assets": [other]}
            data["pair"] = {"numerator": num, "denominator": den, "when_off": "cash"}
            ratio = f'ratio("{num}", "{den}")'
            data["entry_rule"] = f"{ratio} < bb_lower({ratio}, 20, 2)"
            data["exit_rule"] = f"{ratio} > bb_mid({ratio}, 20)"
    elif family in ("ma_crossover", "breakout", "mean_reversion") and traded:
        asset = features.long_asset if features.long_asset in traded else traded[0]
        entry, exit_, _ = _rule_for(features, family, asset)
        signals = sorted({a for a in traded if a != asset and f'"{a}"' in (entry or "")})
        data["universe"] = {"assets": [asset], "signal_assets": signals}
        data["entry_rule"], data["exit_rule"] = entry, exit_
    elif family == "momentum" and traded:
        data["universe"] = {"assets": traded[:20]}
        data["momentum"] = {"lookback_days": features.lookback_days or DEFAULTS["lookback"], "top_k": 1}
        data.setdefault("rebalance", "daily")
    elif family == "index" and traded:
        weight = round(0.95 / len(traded[:20]), 6)
        data["universe"] = {"assets": traded[:20]}
        data["index"] = {"weights": {a: weight for a in traded[:20]}}
    elif family == "yield_rotation":
        markets = _markets(text, stables, stable_only=True)
        if len(markets) >= 2:
            data["universe"] = {"lending_markets": markets}
            data["yield_rotation"] = {"markets": markets}
        else:
            missing.append("fewer than two supported lending markets are named")
    elif family == "lending":
        markets = _markets(text, features.assets, stable_only=False)[:10]
        if markets:
            base = markets[0].split(":")[0]
            data["universe"] = {"lending_markets": [m for m in markets if m.startswith(base + ":")]}
        else:
            missing.append("no supported lending market (protocol and asset) is named")
    if features.idle_cash and family in (
        "pair_ratio",
        "ma_crossover",
        "breakout",
        "mean_reversion",
        "momentum",
        "index",
    ):
        protocol, symbol = features.idle_cash
        data["idle_cash_market"] = f"{protocol}:{symbol}"
    apply_risk(data, features.risk)
    data["evidence"] = list(dict.fromkeys([*data["evidence"], *features.risk.evidence]))[:20]
    quote = next((a for a in stables if a in ("USDC", "USDT", "DAI")), None)
    if quote and family not in ("lending", "yield_rotation"):
        data["quote_currency"] = quote
    backtestable = family in {f.value for f in BACKTESTABLE_FAMILIES} and not missing and not hard
    if not backtestable:
        # Keep what was recognised for people reading the candidate list; nothing will trade it.
        data["universe"] = {"assets": [a for a in features.assets if TICKER_RE.match(a)][:20]}
        features_out = sorted(set(features.unsupported) | ({"missing_data"} if missing else set()))
        if not features_out:
            features_out = ["other"]
        reason = "; ".join(missing) or f"family {family} needs " + ", ".join(features_out)
        data.update(backtestable=False, unsupported_features=features_out, unsupported_reason=reason[:500])
        for key in ("entry_rule", "exit_rule", "momentum", "index", "pair", "yield_rotation"):
            data.pop(key, None)
    return data


class OfflineParser:
    """Rule-based parser; pure function of (text, title, source_ref)."""

    name = "offline"

    def parse(self, text: str, *, title: str = "", source_ref: str | None = None) -> ParseResult:
        cleaned = clean_source_text(f"{title}\n{text}" if title and title not in text[:500] else text)
        clean_title = clean_source_text(title).text.strip()
        features = recognise(cleaned.text, clean_title)
        usage = ParseUsage("offline")
        total = sum(features.family_scores.values())
        if total == 0 and not features.assets and not features.protocols:
            return ParseResult(
                None, 0.0, rejection="no strategy recognised in the text", warnings=cleaned.flags, usage=usage
            )
        data = build_spec_data(features, cleaned.text, clean_title, source_ref)
        try:
            spec = load_spec(data)
        except SpecError as exc:
            return ParseResult(
                None,
                0.0,
                rejection=f"could not build a valid spec: {exc}",
                warnings=cleaned.flags,
                usage=usage,
            )
        problems = check_spec_against_text(spec, cleaned.text)
        if problems:
            return ParseResult(None, 0.0, rejection="; ".join(problems), warnings=cleaned.flags, usage=usage)
        confidence = 0.35 + 0.3 * features.margin + (0.2 if features.assets else 0.0)
        confidence += 0.15 if (features.ma_periods or features.rsi_period or features.stop_loss) else 0.0
        confidence -= 0.1 * min(len(cleaned.flags), 3)
        unsupported = tuple(sorted(set(features.unsupported) | {f.value for f in spec.unsupported_features}))
        return ParseResult(
            spec=spec,
            confidence=max(0.05, min(confidence, 0.95)),
            protocols=tuple(features.protocols),
            unsupported_features=unsupported,
            evidence=verbatim_evidence(list(spec.evidence), cleaned.text),
            warnings=cleaned.flags,
            usage=usage,
        )
