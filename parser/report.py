"""The human ``arena import`` report: per text, its trials and each gate check with its number.

Every number goes through :mod:`core.formatting`; ``--json`` prints the full report instead.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from core.formatting import count, counted, drawdown, percent, ratio, shorten
from parser.pipeline import ImportReport
from parser.proving import proof_label


def print_import_report(console: Console, report: ImportReport) -> None:
    console.print(
        f"{count(report.new_documents)} new documents ({count(report.duplicates)} duplicates), "
        f"{count(report.parsed)} parsed, {count(report.rejected)} rejected, {count(report.backtested)} "
        f"backtested, {count(report.failed_gate)} failed the gate, {count(report.proving)} proving "
        f"({report.paper_mode} paper trading), {count(report.tokenized)} tokenized"
    )
    console.print(f"Trials run so far (the deflated Sharpe's N, all texts): {count(report.n_trials)}")
    risk = risk_summary(report.texts)
    if risk is not None:
        console.print(
            f"Risk tools (volatility target, drawdown stop, T-bill leg): as written "
            f"{count(risk['as_written'][0])} of {count(risk['as_written'][1])} texts pass the gate, "
            f"risk-managed {count(risk['risk_managed'][0])} of {count(risk['risk_managed'][1])}"
        )
    tested = [t for t in report.texts if t.get("checks")]
    for text in tested:
        console.print(_text_table(text))
        for line in _group_lines(text):
            console.print(line)
    others = [t for t in report.texts if not t.get("checks")]
    if others:
        table = Table("id", "text", "family", "state", "why", title="Texts that did not reach the gate")
        for text in others:
            table.add_row(
                str(text["candidate"]),
                shorten(text["title"], 40),
                text["family"] or "",
                text["state"],
                shorten(text["reason"] or "", 70),
            )
        console.print(table)
    for symbol in report.tokens:
        console.print(f"  [green]tokenized[/] {symbol} ({proof_label(report.paper_mode)})")


def _text_table(text: dict[str, Any]) -> Table:
    window = text.get("window") or ["?", "?"]
    title = (
        f"#{text['candidate']} {shorten(text['title'], 60)} — {text['family']}, "
        f"{counted(text.get('trials_text') or 0, 'variant')} run (of {count(text.get('variants') or 0)}), "
        f"best: {text.get('best_variant')}; window {window[0]}..{window[1]}; {text['state']}"
    )
    table = Table("check", "result", "detail", title=title, title_justify="left")
    for check in text["checks"]:
        verdict = "n/a" if not check["applicable"] else ("pass" if check["passed"] else "FAIL")
        table.add_row(check.get("label") or check["name"], verdict, check["detail"])
    return table


GROUP_NAMES = {"as_written": "as written", "risk_managed": "risk-managed (vol target, T-bill leg)"}


def _group_lines(text: dict[str, Any]) -> list[str]:
    """One line per variant group (issue 15): its best variant, key figures and each gate check."""
    lines = []
    for name, group in (text.get("groups") or {}).items():
        checks = ", ".join(
            f"{c.get('label') or c['name']} "
            f"{'n/a' if not c['applicable'] else ('pass' if c['passed'] else 'FAIL')}"
            for c in group["checks"]
        )
        verdict = "PASSES the gate" if group["passed"] else "fails the gate"
        chosen = " (moves on)" if group.get("chosen") and group["passed"] else ""
        lines.append(
            f"  {GROUP_NAMES.get(name, name)}: {counted(group.get('trials') or 0, 'variant')}, best "
            f"{shorten(str(group['best_variant']), 70)} — excess Sharpe {ratio(group.get('sharpe') or 0.0)}, "
            f"max drawdown {drawdown(group.get('max_drawdown') or 0.0)}, volatility "
            f"{percent(group.get('volatility') or 0.0, 1)}; {verdict}{chosen}: {checks}"
        )
    return lines


def risk_summary(texts: list[dict[str, Any]]) -> dict[str, tuple[int, int]] | None:
    """(texts whose best of the group passes, texts with the group) per group; None without groups."""
    grouped = [t["groups"] for t in texts if t.get("groups")]
    if not grouped:
        return None
    return {
        name: (sum(bool(g[name]["passed"]) for g in grouped if name in g), sum(name in g for g in grouped))
        for name in ("as_written", "risk_managed")
    }
