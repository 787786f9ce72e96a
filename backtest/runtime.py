"""Runtime base class of every generated TreasuryAgent (a ``backtrader.Strategy``).

Generated code (see :mod:`backtest.codegen`) declares *what* the strategy wants — its indicators
and, each bar, target weights per traded asset — and this base class does the *how*, identically
for every agent:

* Timing: decisions are taken on the close of bar t and filled at the open of bar t+1 (Backtrader
  defaults; cheat-on-close and cheat-on-open are off and the engine asserts it). Rules read only
  bar t and earlier (``[0]`` and ``[-1]``), so no signal can see a future bar.
* Warm-up: no decision before ``warmup`` bars of history and before ``trade_from`` (the first day
  of the backtest window); equity is recorded from ``trade_from`` on.
* Cash interest: uninvested cash earns the APR of the current cash market, accrued daily with
  ``apr[t-1] / 365`` (the rate that prevailed over the elapsed day; 0 where the market has no rate),
  and is marked at the USD price of the market's coin (``mark[t] / mark[t-1]``: a depeg shows in
  equity): cash grows by ``(1 + apr[t-1] / 365) * mark[t] / mark[t-1]`` per bar. Yield rotation
  switches that market with hysteresis, a minimum hold and a switching cost (a fraction of the
  cash moved).
* Exposure cap: target weights summing to more than ``max_exposure`` (the spec's
  ``sizing.max_exposure``, default 0.97) are scaled down to it.
* Stops: stop-loss / take-profit from the average entry price, trailing stop from the highest close
  since entry, all checked on closes; a stopped asset re-enters only after its entry signal has
  been off once.
* Volatility targeting (``vol_target`` set): a held asset's slot (1 / traded assets; 1 / top_k for
  momentum; 1 for a pair leg) is scaled by ``min(max_leverage, vol_target / vol)``, ``vol`` the
  sample standard deviation of its last ``vol_lookback`` daily simple returns ending at this bar's
  close (known when the decision is taken; the order fills at the next open), times sqrt(365).
  A zero volatility gives ``max_leverage``; a non-finite one gives 0 (no position). With
  ``rebalance_band`` a held weight is kept while the new target is within that fraction of it
  (applied to the targets before the exposure cap; entries and exits always trade).
* Drawdown stop (``dd_stop`` set): checked on every live bar's equity (after interest, before the
  decision). At ``equity <= peak * (1 - dd_stop)`` every target becomes 0 (sold at the next open)
  and the agent stays out until, on a rebalance day, its re-entry rule holds: ``cooldown`` after
  ``dd_days`` bars, ``signal`` when its targets want a position after having wanted none once.
  The peak restarts at the equity of the re-entry bar.
* Rebalance cadence: targets are recomputed on rebalance days (daily, Mondays, first day of month
  or quarter) or every bar for ``on_signal``; orders are sent only for assets whose target changed,
  except on periodic rebalance days of index and momentum agents, which re-weight everything.

Floats: this is a simulation. Nothing here touches the ledger.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, ClassVar

import backtrader as bt

DAYS_PER_YEAR = 365.0


class FractionalCommission(bt.CommInfoBase):
    """Percentage commission on traded value, fractional sizes (crypto trades in fractions)."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))

    def getsize(self, price: float, cash: float) -> float:
        return self.p.leverage * (cash / price)


class AgentBase(bt.Strategy):
    """Shared mechanics of TreasuryAgents. Subclasses override :meth:`build` and :meth:`targets`."""

    family: ClassVar[str] = ""
    traded: ClassVar[tuple[str, ...]] = ()
    rebalance: ClassVar[str] = "on_signal"
    fraction: ClassVar[float] = 1.0
    equal_weight: ClassVar[bool] = False
    stop_loss: ClassVar[float | None] = None
    take_profit: ClassVar[float | None] = None
    trailing_stop: ClassVar[float | None] = None
    cash_market: ClassVar[str | None] = None
    warmup: ClassVar[int] = 0
    max_exposure: ClassVar[float] = 0.97  # the spec's sizing.max_exposure
    vol_target: ClassVar[float | None] = None  # sizing.target_vol of volatility_target sizing
    vol_lookback: ClassVar[int] = 30
    max_leverage: ClassVar[float] = 1.0
    rebalance_band: ClassVar[float] = 0.0  # sizing.rebalance_band
    dd_stop: ClassVar[float | None] = None  # risk.max_drawdown_stop
    dd_reentry: ClassVar[str] = "cooldown"  # risk.reentry.rule
    dd_days: ClassVar[int] = 30  # risk.reentry.days

    params = (
        ("rates", None),  # dict market -> list of daily APR aligned with the bar calendar
        ("marks", None),  # dict market -> list of the market coin's USD price per bar (1.0 = par)
        ("trade_from", None),  # datetime.date: first day of the backtest window
        ("recorder", None),  # Recorder collecting equity, exposure and fills
    )

    def __init__(self) -> None:
        self.rates: dict[str, list[float]] = self.p.rates or {}
        self.marks: dict[str, list[float]] = self.p.marks or {}
        self.rec: Recorder = self.p.recorder if self.p.recorder is not None else Recorder()
        self.current: dict[str, float] = {a: 0.0 for a in self.traded}
        self.active: dict[str, bool] = {a: False for a in self.traded}
        self.stopped: dict[str, bool] = {a: False for a in self.traded}
        self.peak: dict[str, float] = {a: 0.0 for a in self.traded}
        self.market = self.cash_market
        self.last_switch = -(10**9)
        self.pending_cash = 0.0  # add_cash() lands on the next bar; count it in today's equity
        self.dd_peak = 0.0
        self.halted = False
        self.halted_at = 0
        self.dd_armed = False
        self.build()

    # --- hooks for generated code -----------------------------------------------------------
    def build(self) -> None:
        """Create indicators (called once from ``__init__``)."""

    def targets(self) -> dict[str, float]:
        """Target weight per traded asset for this bar (fractions of equity; rest is cash)."""
        return {}

    def feed(self, name: str) -> Any:
        return self.getdatabyname(name)

    # --- helpers generated code calls --------------------------------------------------------
    def rule_targets(self) -> dict[str, float]:
        """Per-asset entry/exit state machine -> weights (rule families)."""
        for asset in self.traded:
            entry = bool(self.entry(asset))
            if self.stopped[asset]:
                self.stopped[asset] = entry  # re-arm only after the entry signal was off once
                continue
            if not self.active[asset] and entry:
                self.active[asset] = True
            elif self.active[asset] and self.exit(asset):
                self.active[asset] = False
        return self.weights_for([a for a in self.traded if self.active[a]])

    def entry(self, asset: str) -> bool:
        return False

    def exit(self, asset: str) -> bool:
        return not self.entry(asset)

    def weights_for(self, chosen: list[str]) -> dict[str, float]:
        if not chosen:
            return {a: 0.0 for a in self.traded}
        if self.vol_target is not None:
            n = len(self.traded)
            return {a: (self.vol_scale(a) / n if a in chosen else 0.0) for a in self.traded}
        each = self.fraction / (len(chosen) if self.equal_weight else len(self.traded))
        return {a: (each if a in chosen else 0.0) for a in self.traded}

    def realised_vol(self, asset: str) -> float:
        """Annualised sample std of the last ``vol_lookback`` daily returns up to this bar's close."""
        close = self.feed(asset).close
        n = self.vol_lookback
        returns = [close[k - n + 1] / close[k - n] - 1.0 for k in range(n)]  # oldest first
        total = 0.0
        for r in returns:
            total += r
        mean = total / n
        squares = 0.0
        for r in returns:
            squares += (r - mean) * (r - mean)
        return math.sqrt(squares / (n - 1)) * math.sqrt(DAYS_PER_YEAR)

    def vol_scale(self, asset: str) -> float:
        """``min(max_leverage, vol_target / vol)`` (``max_leverage`` at zero vol, 0 if not finite)."""
        assert self.vol_target is not None
        vol = self.realised_vol(asset)
        if not math.isfinite(vol):
            return 0.0
        if vol == 0.0:
            return self.max_leverage
        scale = self.vol_target / vol
        return self.max_leverage if scale > self.max_leverage else scale

    def momentum_targets(self, lookback: int, top_k: int, min_return: float | None) -> dict[str, float]:
        scores: list[tuple[float, str]] = []
        for asset in self.traded:
            close = self.feed(asset).close
            ret = close[0] / close[-lookback] - 1.0
            allowed = self.entry(asset) if self.has_entry_rule() else True
            if math.isfinite(ret) and allowed and (min_return is None or ret > min_return):
                scores.append((ret, asset))
        scores.sort(key=lambda s: (-s[0], s[1]))  # ties broken by ticker: deterministic
        chosen = [a for _, a in scores[:top_k]]
        if self.vol_target is not None:
            return {a: (self.vol_scale(a) / top_k if a in chosen else 0.0) for a in self.traded}
        each = self.fraction / top_k
        return {a: (each if a in chosen else 0.0) for a in self.traded}

    def has_entry_rule(self) -> bool:
        return type(self).entry is not AgentBase.entry

    def rotate_yield(self, markets: tuple[str, ...], hysteresis: float, cost: float, min_hold: int) -> None:
        """Move the cash market to the best APR seen today, if it beats the current one enough."""
        i = len(self) - 1
        best = max(markets, key=lambda m: (self.apr(m, i), m))
        if self.market is None:
            self.market = best
            return
        if best == self.market or i - self.last_switch < min_hold:
            return
        if self.apr(best, i) > self.apr(self.market, i) + hysteresis:
            moved = max(self.broker.getcash() + self.pending_cash, 0.0)
            self.add_cash(-moved * cost)
            self.rec.fills.append(
                {
                    "date": self.today().isoformat(),
                    "asset": f"{self.market}->{best}",
                    "side": "switch",
                    "size": moved,
                    "price": 1.0,
                    "value": moved,
                    "commission": moved * cost,
                }
            )
            self.market = best
            self.last_switch = i

    def apr(self, market: str, i: int) -> float:
        series = self.rates.get(market)
        if not series or i < 0:
            return 0.0
        value = series[min(i, len(series) - 1)]
        return value if math.isfinite(value) else 0.0

    def mark_change(self, market: str, i: int) -> float:
        """Relative change of the market coin's USD price from bar i-1 to bar i (1.0 = unchanged)."""
        series = self.marks.get(market)
        if not series or i < 1 or i >= len(series):
            return 1.0
        return series[i] / series[i - 1]

    # --- the bar loop --------------------------------------------------------------------------
    def today(self) -> dt.date:
        return self.datas[0].datetime.date(0)

    def prenext(self) -> None:
        self.next()

    def add_cash(self, amount: float) -> None:
        self.broker.add_cash(amount)
        self.pending_cash += amount

    def next(self) -> None:
        i = len(self) - 1
        self.pending_cash = 0.0
        if self.market is not None and i > 0:
            held = max(self.broker.getcash(), 0.0)
            growth = (1.0 + self.apr(self.market, i - 1) / DAYS_PER_YEAR) * self.mark_change(self.market, i)
            self.add_cash(held * (growth - 1.0))
        day = self.today()
        live = i >= self.warmup and (self.p.trade_from is None or day >= self.p.trade_from)
        if not live:
            return
        equity = self.broker.getvalue() + self.pending_cash
        if self.is_rebalance_day(day):
            wanted = self.targets()
            self.check_stops(wanted)
            self.drawdown_gate(equity, wanted)
            wanted = self.banded(wanted)
            periodic = self.rebalance != "on_signal" and self.family in ("index", "momentum")
            self.apply(wanted, force=periodic)
        else:
            self.check_stops()
            self.drawdown_gate(equity, None)
        # Recorded after today's decision (which only affects tomorrow's open): same value.
        self.rec.record(day, self.broker.getvalue() + self.pending_cash, self.invested_value())

    def drawdown_gate(self, equity: float, wanted: dict[str, float] | None) -> None:
        """The strategy drawdown stop (see the module docstring); ``wanted`` is None off rebalance days."""
        if self.dd_stop is None:
            return
        i = len(self) - 1
        if self.halted:
            if wanted is None:
                return
            total = sum(wanted.values())
            if self.dd_reentry == "cooldown":
                back = i - self.halted_at >= self.dd_days
            else:
                if total <= 0.0:
                    self.dd_armed = True
                back = self.dd_armed and total > 0.0
            if back:
                self.halted = False
                self.dd_peak = equity
                return
            for asset in wanted:
                wanted[asset] = 0.0
            return
        if equity > self.dd_peak:
            self.dd_peak = equity
        if equity <= self.dd_peak * (1.0 - self.dd_stop):
            self.halted, self.halted_at, self.dd_armed = True, i, False
            if wanted is not None:
                for asset in wanted:
                    wanted[asset] = 0.0
            else:
                self.apply({a: 0.0 for a in self.traded}, force=False)

    def banded(self, wanted: dict[str, float]) -> dict[str, float]:
        """Keep each held weight whose new target is within ``rebalance_band`` of it (relative)."""
        if self.rebalance_band <= 0.0:
            return wanted
        out = dict(wanted)
        for asset, weight in wanted.items():
            held = self.current.get(asset, 0.0)
            if weight > 0.0 and held > 0.0 and abs(weight - held) <= self.rebalance_band * held:
                out[asset] = held
        return out

    def is_rebalance_day(self, day: dt.date) -> bool:
        if self.rebalance in ("on_signal", "daily") or not self.rec.days:  # first live bar too
            return True
        if self.rebalance == "weekly":
            return day.weekday() == 0
        if self.rebalance == "monthly":
            return day.day == 1
        return day.day == 1 and day.month in (1, 4, 7, 10)

    def invested_value(self) -> float:
        value = 0.0
        for asset in self.traded:
            pos = self.getposition(self.feed(asset))
            value += abs(pos.size) * self.feed(asset).close[0]
        if self.market is not None and self.family in ("lending", "yield_rotation"):
            value += max(self.broker.getcash() + self.pending_cash, 0.0)
        return value

    def check_stops(self, wanted: dict[str, float] | None = None) -> None:
        for asset in self.traded:
            pos = self.getposition(self.feed(asset))
            if pos.size <= 0:
                self.peak[asset] = 0.0
                continue
            close = self.feed(asset).close[0]
            self.peak[asset] = max(self.peak[asset], close)
            hit = (
                (self.stop_loss is not None and close <= pos.price * (1 - self.stop_loss))
                or (self.take_profit is not None and close >= pos.price * (1 + self.take_profit))
                or (self.trailing_stop is not None and close <= self.peak[asset] * (1 - self.trailing_stop))
            )
            if hit:
                self.stopped[asset] = True
                self.active[asset] = False
                if wanted is not None:
                    wanted[asset] = 0.0
                else:
                    self.apply({asset: 0.0}, force=False)

    def apply(self, wanted: dict[str, float], *, force: bool) -> None:
        gross = sum(wanted.values())
        if gross > self.max_exposure:
            wanted = {a: w * self.max_exposure / gross for a, w in wanted.items()}
        # Sells first, so their proceeds fund the buys filled at the same open.
        order = sorted(wanted, key=lambda a: (wanted[a] - self.weight_now(a), a))
        for asset in order:
            weight = wanted[asset]
            if not force and abs(weight - self.current.get(asset, 0.0)) < 1e-12:
                continue
            data = self.feed(asset)
            if weight == 0.0:
                if self.getposition(data).size:
                    self.close(data=data)
            else:
                self.order_target_percent(data=data, target=weight)
            self.current[asset] = weight

    def weight_now(self, asset: str) -> float:
        data = self.feed(asset)
        return self.getposition(data).size * data.close[0] / self.broker.getvalue()

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            ex = order.executed
            self.rec.fills.append(
                {
                    "date": bt.num2date(ex.dt).date().isoformat(),
                    "asset": order.data._name,
                    "side": "buy" if order.isbuy() else "sell",
                    "size": abs(ex.size),
                    "price": ex.price,
                    "value": abs(ex.size) * ex.price,
                    "commission": ex.comm,
                }
            )
        elif order.status in (order.Margin, order.Rejected):
            self.rec.rejected += 1


class Recorder:
    """What a run leaves behind: daily equity and invested value, fills, rejected orders."""

    def __init__(self) -> None:
        self.days: list[dt.date] = []
        self.equity: list[float] = []
        self.invested: list[float] = []
        self.fills: list[dict[str, Any]] = []
        self.rejected = 0

    def record(self, day: dt.date, equity: float, invested: float) -> None:
        self.days.append(day)
        self.equity.append(equity)
        self.invested.append(invested)
