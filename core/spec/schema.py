"""The JSON schema of :class:`StrategySpec`, exported beside the prompts.

``python -m core.spec.schema`` rewrites ``prompts/strategy_spec.schema.json``;
``python -m core.spec.schema --check`` exits 1 when the file has drifted from the model.
A unit test runs the same check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.spec.io import spec_json_schema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "prompts" / "strategy_spec.schema.json"


def render_schema() -> str:
    return json.dumps(spec_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render_schema()
    if "--check" in args:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is out of date; run: python -m core.spec.schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
