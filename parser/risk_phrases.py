"""Risk tools written in prose -> spec fields (issue 15), for the offline parser.

Recognised (case-insensitive; numbers are percentages or whole days):

* volatility targeting: "target 10 % volatility", "targeting an annualised volatility of 12 %",
  "15 % vol target", "volatility target of 10 %"; without a number ("scale position by volatility",
  "volatility-scaled", "inverse volatility") the target is :data:`DEFAULT_TARGET_VOL` and the
  variant generator varies it. Lookback: "20-day volatility", "volatility over the last 60 days".
* drawdown stop: "cut exposure after a 10 % drawdown", "go to cash if the drawdown exceeds 15 %",
  "maximum drawdown stop of 20 %"; re-entry "re-enter after 30 days" / "wait 14 days" (cooldown) or
  "re-enter when the signal returns" (signal); unstated: cooldown of :data:`DEFAULT_COOLDOWN` days.
* regime filter: "only hold while price is above the 200-day average" -> ``close > sma(close, 200)``.
* T-bill cash leg: idle / uninvested cash in "T-bills", "treasury bills", "tokenized treasuries".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.spec import TBILL_MARKET

DEFAULT_TARGET_VOL = 0.10
DEFAULT_COOLDOWN = 30
_PCT = r"(\d{1,2}(?:\.\d+)?)\s*%"
_VOL = r"vol(?:atility)?"
_ANNUAL = r"(?:annual(?:ised|ized)?\s+|yearly\s+|portfolio\s+)?"
_TARGET = [
    rf"target(?:s|ing)?\s+(?:an?\s+)?{_ANNUAL}{_VOL}\s+(?:of\s+)?(?:about\s+|around\s+)?{_PCT}",
    rf"target(?:s|ing)?\s+(?:about\s+|around\s+)?{_PCT}\s+{_ANNUAL}{_VOL}",
    rf"{_PCT}\s+{_ANNUAL}{_VOL}\s+target",
    rf"{_VOL}\s+target\s+(?:of\s+)?{_PCT}",
]
_SCALED = (
    rf"scal(?:e|es|ed|ing)\s+(?:the\s+|each\s+|its\s+)?(?:position|exposure|size|allocation)s?\s+"
    rf"(?:\w+\s+){{0,2}}(?:by|to|with|for)\s+(?:inverse\s+|its\s+|realised\s+|realized\s+)*{_VOL}"
    rf"|{_VOL}[- ](?:scaled|scaling|targeting|targeted)|inverse[- ]{_VOL}"
)
_LOOKBACK = (
    rf"(\d{{1,3}})[- ]day\s+(?:realised\s+|realized\s+|rolling\s+|trailing\s+|historical\s+)?{_VOL}"
    rf"|{_VOL}\s+(?:over|of)\s+the\s+(?:last|past|previous)\s+(\d{{1,3}})\s+days"
)
_DRAWDOWN = [
    rf"(?:cut|reduce|halve|exit|close|de-?risk|flatten|sell)\w*[^.\n]{{0,40}}?(?:after|if|when|once|on)"
    rf"[^.\n]{{0,30}}?{_PCT}\s+(?:draw[- ]?down|(?:decline|fall) from (?:the |its )?peak)",
    rf"(?:go|move|switch|retreat)\w*\s+(?:to|into)\s+cash[^.\n]{{0,40}}?draw[- ]?down[^.\n]{{0,30}}?{_PCT}",
    rf"draw[- ]?down\s+(?:stop|limit|circuit[- ]breaker)\s+(?:of\s+|at\s+)?{_PCT}",
    rf"{_PCT}\s+draw[- ]?down\s+(?:stop|limit|circuit[- ]breaker)",
    rf"draw[- ]?down\s+(?:exceeds|reaches|hits|passes|of more than|above|beyond)\s+{_PCT}",
]
_COOLDOWN = (
    r"(?:re-?enter|resume|come back|return)\w*[^.\n]{0,40}?after\s+(\d{1,3})\s+days"
    r"|(?:wait|pause|stay (?:out|in cash)|sit out)\s+(?:for\s+)?(\d{1,3})\s+days"
)
_SIGNAL_BACK = (
    r"(?:re-?enter|resume|come back|get back in)\w*[^.\n]{0,50}?\b(?:signal|trend|crosses|turns|is back)"
)
_REGIME = (
    r"(?:only|just)\s+(?:hold|be long|be invested|invest|stay invested|buy|own)[^.\n]{0,40}?"
    r"(?:while|when|if|as long as)\s+[^.\n]{0,30}?\babove\s+(?:its\s+|the\s+)?(\d{1,3})[- ]day\s+"
    r"(?:simple\s+)?(?:moving\s+)?average"
)
_TBILL = (
    r"(?:idle|excess|uninvested|spare|remaining|unused)\s+(?:cash|capital|funds)[^.\n]{0,60}?"
    r"(?:\bt-?bills?\b|treasury bills?|\btreasuries\b|tokeni[sz]ed treasur)"
    r"|(?:park|hold|keep)\w*\s+(?:the\s+)?(?:cash|rest|remainder)[^.\n]{0,40}?"
    r"(?:\bt-?bills?\b|treasury bills?|\btreasuries\b|tokeni[sz]ed treasur)"
)
#: A text names the T-bill leg when it says one of these (the guard checks a parsed tbill:USD).
TBILL_WORDS = re.compile(r"(?i)\bt-?bills?\b|treasury bills?|\btreasuries\b|tokeni[sz]ed treasur")


@dataclass
class RiskFeatures:
    target_vol: float | None = None
    target_stated: bool = False  # the text gave the number (else the default, varied by variants)
    vol_lookback: int | None = None
    drawdown: float | None = None
    reentry: dict[str, Any] | None = None
    regime_ma: int | None = None
    tbill: bool = False
    evidence: tuple[str, ...] = ()


def extract_risk(text: str) -> RiskFeatures:
    """The risk tools a text describes (see the module docstring)."""
    lower = text.lower()
    found = RiskFeatures()
    quotes: list[str] = []
    for pattern in _TARGET:
        if m := re.search(pattern, lower):
            value = float(m.group(1)) / 100.0
            if 0 < value <= 2:
                found.target_vol, found.target_stated = round(value, 6), True
                quotes.append(text[m.start() : m.end()])
                break
    if found.target_vol is None and (m := re.search(_SCALED, lower)):
        found.target_vol = DEFAULT_TARGET_VOL
        quotes.append(text[m.start() : m.end()])
    if found.target_vol is not None and (m := re.search(_LOOKBACK, lower)):
        days = int(m.group(1) or m.group(2))
        found.vol_lookback = days if 5 <= days <= 365 else None
    for pattern in _DRAWDOWN:
        if m := re.search(pattern, lower):
            value = float(m.group(1)) / 100.0
            if 0 < value < 1:
                found.drawdown = round(value, 6)
                quotes.append(text[m.start() : m.end()])
                break
    if found.drawdown is not None:
        if m := re.search(_COOLDOWN, lower):
            days = int(m.group(1) or m.group(2))
            found.reentry = {"rule": "cooldown", "days": min(max(days, 1), 365)}
        elif re.search(_SIGNAL_BACK, lower):
            found.reentry = {"rule": "signal"}
        else:
            found.reentry = {"rule": "cooldown", "days": DEFAULT_COOLDOWN}
    if m := re.search(_REGIME, lower):
        days = int(m.group(1))
        found.regime_ma = days if 2 <= days <= 365 else None
        quotes.append(text[m.start() : m.end()])
    found.tbill = re.search(_TBILL, lower) is not None
    found.evidence = tuple(quotes)
    return found


RULE_FAMILIES = ("ma_crossover", "breakout", "mean_reversion")
VOL_FAMILIES = (*RULE_FAMILIES, "pair_ratio", "momentum")


def apply_risk(data: dict[str, Any], risk: RiskFeatures) -> None:
    """Write ``risk`` into the spec mapping ``data`` where its family can use it."""
    family = data.get("family")
    if risk.target_vol is not None and family in VOL_FAMILIES:
        sizing: dict[str, Any] = {"method": "volatility_target", "target_vol": risk.target_vol}
        if risk.vol_lookback is not None:
            sizing["lookback_days"] = risk.vol_lookback
        data["sizing"] = sizing
    if risk.drawdown is not None and family in (*VOL_FAMILIES, "index"):
        reentry = risk.reentry or {"rule": "cooldown", "days": DEFAULT_COOLDOWN}
        if family == "index" and reentry["rule"] == "signal":
            reentry = {"rule": "cooldown", "days": DEFAULT_COOLDOWN}
        data["risk"] = {**data.get("risk", {}), "max_drawdown_stop": risk.drawdown, "reentry": reentry}
    if risk.regime_ma is not None:
        regime = f"close > sma(close, {risk.regime_ma})"
        entry = data.get("entry_rule")
        if family in RULE_FAMILIES and entry and regime not in entry:
            data["entry_rule"] = f"{entry} and {regime}"
        elif family == "momentum" and not entry:
            data["entry_rule"] = regime
    if risk.tbill and family in (*VOL_FAMILIES, "index") and not data.get("idle_cash_market"):
        data["idle_cash_market"] = TBILL_MARKET
