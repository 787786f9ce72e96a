"""Parser & pipeline benchmark (issue 4).

    python benchmarks/parser.py [--data ../shared/data] [--repeat 20]

1. Offline parser throughput on the 42 shared texts (texts/s, after one warm-up pass).
2. The whole import pipeline over the 42 texts on the real data in a fresh SQLite file: discover,
   parse, implement, backtest (process pool, 2 workers), gate, 30-day replayed paper trading,
   tokenize. Wall time in seconds.
Prints the 1-minute load average next to each figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder is sys.path[0] and its name would shadow the `parser` package
# (and benchmarks/backtest.py the `backtest` one): import from the repository root instead.
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "benchmarks"]
sys.path.insert(0, str(_ROOT))

from backtest import load_market  # noqa: E402
from core.clock import SimulatedClock  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrations import upgrade  # noqa: E402
from parser.offline import OfflineParser  # noqa: E402
from parser.pipeline import run_import  # noqa: E402
from parser.sources import load_jsonl  # noqa: E402


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(here.parent / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    now = dt.datetime(2026, 1, 8, tzinfo=dt.UTC)
    docs = load_jsonl(Path(args.data) / "strategy_texts.jsonl", now)
    parser = OfflineParser()
    for doc in docs:
        parser.parse(doc.text, title=doc.title)
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for doc in docs:
            parser.parse(doc.text, title=doc.title)
    parse_rate = args.repeat * len(docs) / (time.perf_counter() - t0)
    load_parse = os.getloadavg()[0]

    market = load_market(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db", clock=SimulatedClock(now))
        upgrade(db.engine)
        t0 = time.perf_counter()
        report = run_import(db.uow, docs, market, clock=SimulatedClock(now), parser=parser)
        pipeline_s = time.perf_counter() - t0
        db.dispose()
    print(json.dumps({
        "offline_parser_texts_per_s": round(parse_rate, 1),
        "load_avg_1m_during_parse": round(load_parse, 2),
        "pipeline_42_texts_s": round(pipeline_s, 2),
        "load_avg_1m_after_pipeline": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "report": {k: v for k, v in report.to_json().items() if k not in ("errors",)},
    }, indent=2))


if __name__ == "__main__":
    main()
