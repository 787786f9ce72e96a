"""The example specs shipped in ``examples/specs/`` (used by ``arena demo`` and the tests)."""

from __future__ import annotations

from pathlib import Path

from core.spec import StrategySpec, load_spec_file

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples" / "specs"


def example_paths() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.json"))


def example_specs(*, backtestable_only: bool = False) -> list[StrategySpec]:
    """All example specs, sorted by file name (optionally only the backtestable ones)."""
    specs = [load_spec_file(p) for p in example_paths()]
    return [s for s in specs if s.backtestable or not backtestable_only]
