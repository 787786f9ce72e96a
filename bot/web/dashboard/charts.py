"""Server-side PNG charts (matplotlib's Agg canvas, no pyplot state, so threads are safe).

Values arrive as Decimal and are converted to float only to be drawn; the axis labels a person reads
go through ``core.formatting``.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from core import formatting

Series = list[tuple[date, Decimal]]
COLOURS = ("#1f4e79", "#c55a11", "#548235")


def line_chart(title: str, lines: list[tuple[str, Series]], *, money: bool) -> bytes:
    """A PNG of one or more dated lines (label, series); an empty chart says there is no data."""
    figure = Figure(figsize=(10.5, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    drawn = 0
    for (label, series), colour in zip(lines, COLOURS, strict=False):
        if not series:
            continue
        days: list[Any] = [d for d, _ in series]
        axes.plot(days, [float(v) for _, v in series], label=label, color=colour,
                  linewidth=1.8 if drawn == 0 else 1.2)
        drawn += 1
    if drawn == 0:
        axes.text(0.5, 0.5, "No NAV marks yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
    else:
        show = formatting.cash if money else formatting.nav
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: show(float(v))))
        axes.xaxis.set_major_formatter(FuncFormatter(_date_label))
        axes.grid(True, alpha=0.3)
        if drawn > 1:
            axes.legend(loc="best", fontsize=8)
    axes.set_title(title, fontsize=11)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _date_label(value: float, _pos: object) -> str:
    from matplotlib.dates import num2date

    return formatting.date_text(num2date(float(value)))
