"""``arena demo``: the whole product once, offline, on the configured database.

The demo runs on a simulated clock placed ``SIMULATED_DAYS`` before the end of the market data:
strategies are imported and tokenized "then", and the platform lives through the remaining days —
NAV marks from each token's agent, weekly rebalances, a hybrid approval, lifecycle and risk checks —
ending with a daily digest. Every step calls the same core services chat users reach. Keys carry a
run id so the demo can run again on the same database.
"""

from __future__ import annotations

import json
import time

from rich.console import Console

from bot.cli_support import decimal_json, open_db
from bot.demo.state import DemoState, demo_start, market_for_demo
from bot.demo.steps_setup import step_onboard, step_report
from bot.demo.steps_strategies import step_backtest, step_import
from bot.demo.steps_wallets import step_digest, step_live, step_wallets
from core.clock import SimulatedClock

STEPS = [
    ("Onboarding: attest, register the church, get verified", step_onboard),
    ("Backtests of the example strategies and the quality gate", step_backtest),
    ("Import pipeline: texts -> specs -> agents -> backtest -> paper -> tokens", step_import),
    ("AI wallets in full-AI, hybrid and manual mode", step_wallets),
    ("The platform lives: daily NAV marks, weekly rebalances, approvals, risk checks", step_live),
    ("State of the platform", step_report),
    ("Daily digest", step_digest),
]


def run_demo(console: Console, *, json_output: bool = False) -> dict[str, object]:
    """Run every demo step in order and return a summary."""
    db = open_db(ensure_schema=True)
    market = market_for_demo()
    db.clock = SimulatedClock(demo_start(market))
    state = DemoState(run=f"{int(time.time() * 1000) % 0xFFFFFF:06x}", db=db, market=market)
    console.print(f"market: [bold]{market.source}[/]; simulated start {db.clock.now():%Y-%m-%d}")
    for title, step in STEPS:
        console.rule(title)
        step(state, console)
    db.dispose()
    if json_output:
        console.print_json(json.dumps(state.summary, default=decimal_json))
    return state.summary
