"""The vector engine: the TreasuryAgent's exact semantics on whole arrays, for screening variants.

vectorbt-style: every indicator and rule is one array operation over the whole window
(:mod:`backtest.vector.signals`, with Backtrader's arithmetic in :mod:`backtest.vector.kernels`); the
portfolio (orders, fills, cash, stops) runs in one compiled day loop (:mod:`backtest.vector.loop`,
:mod:`backtest.vector.broker`) because each day's orders depend on yesterday's equity. Decisions at
the close of day t, fills at the open of day t+1 with the same slippage (capped at the bar's
high/low) and commission, the same sizing, stops, idle-cash interest and marks, and exposure cap as
the generated Backtrader agent: ``tests/integration/test_vector_parity.py`` holds the two engines
to 1e-9 relative equity on every day and identical trade lists on real data.

Backtrader stays the auditable agent that is stored and hashed; this engine screens variants and
Backtrader confirms the finalist. Specs it cannot express are refused (:func:`supports`).
"""

from backtest.vector.engine import ArraysCache, VectorUnsupported, frame_arrays, simulate, supports

__all__ = ["ArraysCache", "VectorUnsupported", "frame_arrays", "simulate", "supports"]
