"""Score a parser against labelled texts (``arena parse-eval``).

Labels are JSON lines ``{"id", "family", "assets", "protocols", "backtestable", "params"}``; the texts
come from a JSONL file with ``id``, ``title`` and ``text`` (default: the shared data set). Scores:
family accuracy, backtestable accuracy, micro-averaged precision/recall of assets and protocols,
the number of specs that fail re-validation against the schema (must be 0) and throughput.
A text the parser rejects scores family ``None``, no assets, no protocols, not backtestable.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.files import read_text
from core.spec import TBILL_MARKET, SpecError, dump_spec, load_spec
from parser.result import StrategyParser


def default_texts_path() -> Path:
    shared = os.environ.get("ARENA_SHARED_DATA")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "strategy_texts.jsonl"


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    lines = read_text(path, "labels file").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@dataclass
class _PR:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: set[str], truth: set[str]) -> None:
        self.tp += len(predicted & truth)
        self.fp += len(predicted - truth)
        self.fn += len(truth - predicted)

    def as_dict(self) -> dict[str, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return {"precision": round(p, 4), "recall": round(r, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


def spec_assets(result_spec: Any) -> set[str]:
    if result_spec is None:
        return set()
    universe = result_spec.universe
    assets = set(universe.assets) | set(universe.signal_assets)
    assets |= {m.split(":")[1] for m in universe.lending_markets}
    if result_spec.quote_currency.value != "USD":
        assets.add(result_spec.quote_currency.value)
    if result_spec.idle_cash_market and result_spec.idle_cash_market != TBILL_MARKET:  # USD is no asset
        assets.add(result_spec.idle_cash_market.split(":")[1])
    return assets


def evaluate(
    parser: StrategyParser, labels_path: str | Path, texts_path: str | Path | None = None
) -> dict[str, Any]:
    """Run ``parser`` over every labelled text; returns the score report (JSON-ready)."""
    labels = read_jsonl(labels_path)
    texts = {row["id"]: row for row in read_jsonl(texts_path or default_texts_path())}
    missing = [lab["id"] for lab in labels if lab["id"] not in texts]
    if missing:
        raise ValidationError(f"labels refer to texts not in the text file: {', '.join(missing[:5])}")
    family_ok = backtest_ok = rejected = schema_violations = 0
    assets, protocols = _PR(), _PR()
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    results = [
        (lab, parser.parse(texts[lab["id"]]["text"], title=texts[lab["id"]].get("title", "")))
        for lab in labels
    ]
    elapsed = time.perf_counter() - started
    for lab, result in results:
        spec = result.spec
        if spec is None:
            rejected += 1
        else:
            try:
                load_spec(dump_spec(spec))
            except SpecError:
                schema_violations += 1
        family = spec.family.value if spec is not None else None
        got_assets = spec_assets(spec)
        got_protocols = set(result.protocols)
        family_ok += family == lab["family"]
        backtest_ok += (spec is not None and spec.backtestable) == lab["backtestable"]
        assets.add(got_assets, set(lab["assets"]))
        protocols.add(got_protocols, set(lab["protocols"]))
        rows.append(
            {
                "id": lab["id"],
                "family": family,
                "expected_family": lab["family"],
                "assets": sorted(got_assets),
                "expected_assets": sorted(lab["assets"]),
                "backtestable": spec is not None and spec.backtestable,
                "expected_backtestable": lab["backtestable"],
                "confidence": round(result.confidence, 3),
                "rejection": result.rejection,
            }
        )
    n = len(labels)
    return {
        "parser": parser.name,
        "texts": n,
        "family_accuracy": round(family_ok / n, 4) if n else 0.0,
        "backtestable_accuracy": round(backtest_ok / n, 4) if n else 0.0,
        "assets": assets.as_dict(),
        "protocols": protocols.as_dict(),
        "rejected": rejected,
        "schema_violations": schema_violations,
        "seconds": round(elapsed, 4),
        "texts_per_second": round(n / elapsed, 1) if elapsed > 0 else None,
        "rows": rows,
    }
