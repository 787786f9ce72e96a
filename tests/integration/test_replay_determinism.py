"""``arena replay`` is deterministic for a fixed seed (real data; skips when it is absent)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scheduler.replay import run_replay


@pytest.mark.shared_data
@pytest.mark.slow
def test_replay_is_deterministic(shared_data_dir: Path, tmp_path: Path) -> None:
    kwargs = {"wallets": 1, "seed": 3, "gate": "none"}
    first = run_replay(shared_data_dir, date(2021, 9, 1), date(2021, 11, 15),
                       plot_path=tmp_path / "a.png", **kwargs)  # type: ignore[arg-type]
    second = run_replay(shared_data_dir, date(2021, 9, 1), date(2021, 11, 15),
                        **kwargs)  # type: ignore[arg-type]
    assert first == second
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert first["tokens"]["count"] > 0
    assert first["rebalances"] > 0
    assert first["comparison"]["ai"]["days"] > 0
