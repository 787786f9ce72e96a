"""Walk-forward check: choose a variant on an in-sample window, judge it on the following unseen one.

The window's days are split once: the first ``1 - oos_fraction`` of the daily excess returns are in
sample, the rest out of sample. The variant with the best in-sample excess Sharpe is chosen using
those days only; its excess Sharpe on the out-of-sample days is the figure the gate judges. The
out-of-sample days are the same runs continued (each variant's position carries over the split),
so nothing about the out-of-sample days can influence the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.metrics import DAYS_PER_YEAR, sharpe_per_period

MIN_WINDOW_DAYS = 30


@dataclass(frozen=True)
class WalkForward:
    in_sample: tuple[str, str]  # first and last day (ISO) of the in-sample window
    out_of_sample: tuple[str, str]
    chosen: int  # column of the chosen variant
    chosen_name: str
    in_sample_sharpe: float  # annualised excess Sharpe of the chosen variant in sample
    out_of_sample_sharpe: float  # ... and out of sample
    variants: int

    def to_json(self) -> dict[str, Any]:
        return {
            "in_sample": list(self.in_sample),
            "out_of_sample": list(self.out_of_sample),
            "chosen": self.chosen_name,
            "in_sample_sharpe": round(self.in_sample_sharpe, 6),
            "out_of_sample_sharpe": round(self.out_of_sample_sharpe, 6),
            "variants": self.variants,
        }


def walk_forward(excess: pd.DataFrame, oos_fraction: float) -> WalkForward | None:
    """``excess``: daily excess returns, one column per variant (named), rows by day. None when
    either window would be shorter than ``MIN_WINDOW_DAYS``."""
    days = len(excess)
    split = days - round(days * oos_fraction)
    if split < MIN_WINDOW_DAYS or days - split < MIN_WINDOW_DAYS:
        return None
    values = excess.to_numpy(dtype=float)
    inside = np.array([sharpe_per_period(values[:split, j]) for j in range(values.shape[1])])
    chosen = int(np.argmax(inside))
    outside = sharpe_per_period(values[split:, chosen])
    annual = math.sqrt(DAYS_PER_YEAR)
    index = excess.index
    return WalkForward(
        in_sample=(_day(index[0]), _day(index[split - 1])),
        out_of_sample=(_day(index[split]), _day(index[-1])),
        chosen=chosen,
        chosen_name=str(excess.columns[chosen]),
        in_sample_sharpe=float(inside[chosen]) * annual,
        out_of_sample_sharpe=outside * annual,
        variants=values.shape[1],
    )


def _day(stamp: Any) -> str:
    return str(pd.Timestamp(stamp).date())
