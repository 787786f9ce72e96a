"""Yield-aggregator vault lists: Yearn (yDaemon API) and Beefy (vault API + strategy templates).

Yearn: each vault lists its strategies with a ``description`` whose ``{{token}}`` placeholder is
filled with the vault's token symbol. Beefy: the vault list carries a ``strategyTypeId``; the
English strategy templates (``StrategyDescription-<type>`` in beefy-v2's locale JSON) are fetched
from ``templates_url`` and filled with the vault's deposit token, platform and assets. One document
per (vault, strategy); vaults without a description are skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parser.sources.base import RawDocument, clip, html_to_text
from parser.sources.http import SafeFetcher

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def fill_template(template: str, values: dict[str, str]) -> str:
    """Replace ``{{name}}`` with ``values[name]``; unknown placeholders stay as they are."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass
class YearnSource:
    name: str
    url: str = "https://ydaemon.yearn.fi/1/vaults/all"
    limit: int = 200

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]:
        vaults: list[dict[str, Any]] = http.get(self.url, accept="application/json").json()
        docs: list[RawDocument] = []
        for vault in vaults[: self.limit]:
            token = str((vault.get("token") or {}).get("symbol") or vault.get("symbol") or "")
            for strategy in vault.get("strategies") or []:
                description = str(strategy.get("description") or "").strip()
                if not description:
                    continue
                text = html_to_text(fill_template(description, {"token": token}))
                title = str(strategy.get("name") or vault.get("name") or "")
                docs.append(
                    RawDocument(
                        source=self.name,
                        kind="yearn",
                        url=f"{self.url}#{vault.get('address', '')}/{strategy.get('address', '')}",
                        title=title,
                        text=clip(f"{title}\n\n{text}"),
                        fetched_at=now,
                        provenance={
                            "api": self.url,
                            "vault": str(vault.get("address", "")),
                            "vault_name": str(vault.get("name", "")),
                            "strategy": str(strategy.get("address", "")),
                            "token": token,
                            "chain_id": str(vault.get("chainID", "")),
                        },
                    )
                )
        return docs


@dataclass
class BeefySource:
    name: str
    url: str = "https://api.beefy.finance/vaults"
    templates_url: str = (
        "https://raw.githubusercontent.com/beefyfinance/beefy-v2/main/src/locales/en/risks.json"
    )
    limit: int = 200

    def fetch(self, http: SafeFetcher, now: datetime) -> list[RawDocument]:
        vaults: list[dict[str, Any]] = http.get(self.url, accept="application/json").json()
        templates: dict[str, str] = http.get(self.templates_url, accept="application/json").json()
        docs: list[RawDocument] = []
        for vault in vaults[: self.limit]:
            if vault.get("status", "active") != "active":
                continue
            strategy_type = str(vault.get("strategyTypeId") or "")
            template = templates.get(f"StrategyDescription-{strategy_type}")
            if not template:
                continue
            assets = [str(a) for a in vault.get("assets") or []]
            values = {
                "depositToken": str(vault.get("token") or ""),
                "platformName": str(vault.get("platformId") or ""),
                "chainName": str(vault.get("chain") or vault.get("network") or ""),
                **{f"asset{i}": asset for i, asset in enumerate(assets)},
            }
            title = str(vault.get("name") or vault.get("id") or "")
            text = html_to_text(fill_template(template, values))
            docs.append(
                RawDocument(
                    source=self.name,
                    kind="beefy",
                    url=f"https://app.beefy.com/vault/{vault.get('id', '')}",
                    title=title,
                    text=clip(f"{title}\n\n{text}"),
                    fetched_at=now,
                    provenance={
                        "api": self.url,
                        "vault_id": str(vault.get("id", "")),
                        "strategy_type": strategy_type,
                        "platform": values["platformName"],
                        "chain": values["chainName"],
                        "assets": ",".join(assets),
                    },
                )
            )
        return docs
