"""``arena parse | import | candidates | parse-eval`` (registered by ``bot/cli.py`` via :func:`register`).

* ``arena parse FILE [--llm|--offline] [--json]``: parse one text file, print the result.
* ``arena import --source NAME|URL|FILE.jsonl [--examples] [--data DIR] [--paper-mode forward|replay]``:
  run (or resume) the pipeline into the configured database and print, per text, its variants
  (trials), the trial count overall and each gate check with its number. ``--source`` URLs go
  through the SSRF guard; without ``--source`` the pipeline only resumes pending candidates.
  Paper trading is ``forward`` by default (on data as it arrives; run the import again to advance);
  ``replay`` proves on the held-out last 30 days and the token says so.
* ``arena candidates [--state S] [--json]``: candidates and their states.
* ``arena parse-eval LABELS.jsonl [--texts FILE] [--llm|--offline] [--json]``: per-field scores.

Exit code 2 (via ``bot/cli.py``) for user errors (:class:`core.errors.ArenaError`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core import formatting
from core.errors import ValidationError
from core.files import read_text
from parser.result import StrategyParser

console = Console()


def register(app: typer.Typer) -> None:
    app.command("parse", help="Parse one strategy text into a spec.")(parse_command)
    app.command("import", help="Discover, parse, backtest, prove and tokenize strategies.")(import_command)
    app.command("candidates", help="List import candidates and their states.")(candidates_command)
    app.command("parse-eval", help="Score a parser against labelled texts.")(parse_eval_command)


def _parser(llm: bool, offline: bool) -> StrategyParser:
    if llm and offline:
        raise ValidationError("choose one of --llm and --offline")
    if llm:
        from parser.llm import LLMParser

        return LLMParser.from_settings()
    if offline:
        from parser.offline import OfflineParser

        return OfflineParser()
    from parser.pipeline import default_parser

    return default_parser()


LlmOpt = Annotated[bool, typer.Option("--llm", help="Use the LLM parser (needs OPENAI_API_KEY).")]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Use the offline rule-based parser.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def parse_command(
    file: Annotated[Path, typer.Argument(help="text or markdown file with a strategy write-up")],
    llm: LlmOpt = False,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
) -> None:
    text = read_text(file)
    result = _parser(llm, offline).parse(text, source_ref=str(file))
    if json_output:
        print(json.dumps(result.to_json(), indent=2))
        return
    if result.spec is None:
        console.print(f"[red]rejected:[/] {result.rejection}")
        return
    spec = result.spec
    console.print(
        f"[bold]{spec.name}[/]  family={spec.family.value}  backtestable={spec.backtestable}"
        f"  confidence={result.confidence:.2f}"
    )
    console.print(f"assets={spec.universe.assets} markets={spec.universe.lending_markets}")
    if spec.entry_rule:
        console.print(f"entry: {spec.entry_rule}\nexit:  {spec.exit_rule or '(entry turns false)'}")
    for warning in result.warnings:
        console.print(f"[yellow]guard:[/] {warning}")


def import_command(
    source: Annotated[str | None, typer.Option("--source", help="registry NAME, http(s) URL or FILE")] = None,
    examples: Annotated[bool, typer.Option("--examples", help="Import parser/examples/*.txt.")] = False,
    data: Annotated[str | None, typer.Option("--data", help="price/rate folder (default: built-in)")] = None,
    paper_mode: Annotated[
        str,
        typer.Option(
            "--paper-mode", help="forward (data as it arrives, default) or replay (held-out history)"
        ),
    ] = "forward",
    resume: Annotated[
        bool, typer.Option("--resume", help="Only continue the pending candidates (no new source).")
    ] = False,
    llm: LlmOpt = False,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
) -> None:
    from backtest import load_market
    from core.clock import SystemClock
    from core.config import get_settings
    from core.db import open_database
    from parser.pipeline import documents_from, example_documents, run_import

    if paper_mode not in ("forward", "replay", "live"):
        raise ValidationError("--paper-mode must be forward or replay")
    if not (source or examples or resume):
        raise ValidationError(
            "nothing to import: give --source NAME|URL|FILE.jsonl or --examples, or --resume to "
            "continue the pending candidates"
        )
    clock = SystemClock()
    docs = None
    if source:
        docs = documents_from(source, clock.now())
    if examples:
        docs = (docs or []) + example_documents(clock.now())
    market = load_market(data or get_settings().data_dir)
    db = open_database(clock=clock, ensure_schema=True)
    try:
        report = run_import(
            db.uow,
            docs,
            market,
            clock=clock,
            parser=_parser(llm, offline),
            paper_mode=paper_mode,
            progress=not json_output,
        )
    finally:
        db.dispose()
    if json_output:
        print(json.dumps(report.to_json(), indent=2))
        return
    from parser.report import print_import_report

    print_import_report(console, report)


def candidates_command(
    state: Annotated[str | None, typer.Option("--state", help="only this state")] = None,
    json_output: JsonOpt = False,
) -> None:
    from sqlalchemy import select

    from core.db import open_database
    from core.models.pipeline import CandidateState, StrategyCandidate

    db = open_database(ensure_schema=True)
    try:
        with db.uow(read_only=True) as uow:
            query = select(StrategyCandidate).order_by(StrategyCandidate.id)
            if state:
                try:
                    query = query.where(StrategyCandidate.state == CandidateState(state))
                except ValueError:
                    names = ", ".join(s.value for s in CandidateState)
                    raise ValidationError(f"unknown state {state!r}; one of {names}") from None
            rows = [_candidate_row(c) for c in uow.session.scalars(query)]
    finally:
        db.dispose()
    if json_output:
        print(json.dumps(rows, indent=2))
        return
    table = Table(
        "id", "state", "family", "asset", "variants", "sharpe", "dsr", "proof", "token", "title / reason"
    )
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["state"],
            row["family"] or "",
            row["asset"] or "",
            str(row["variants"] or ""),
            _fmt(row["sharpe"]),
            _fmt(row["dsr"]),
            row["paper_mode"] or "",
            row["token"] or "",
            formatting.shorten(row["reason"] or row["title"] or "", 40),
        )
    console.print(table)


def _fmt(value: Any) -> str:
    return formatting.ratio(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _candidate_row(c: Any) -> dict[str, Any]:
    metrics = c.backtest_metrics or {}
    return {
        "id": c.id,
        "state": c.state.value,
        "family": c.family,
        "asset": c.primary_asset,
        "confidence": c.confidence,
        "sharpe": metrics.get("sharpe"),
        "dsr": metrics.get("dsr"),
        "trial": c.trial_number,
        "variants": c.variants,
        "paper_mode": c.paper_mode,
        "gate_passed": (c.gate_report or {}).get("passed"),
        "token": c.token_symbol,
        "reason": c.reject_reason,
        "title": c.document.title,
        "url": c.document.url,
    }


def parse_eval_command(
    labels: Annotated[Path, typer.Argument(help="labels JSONL (id, family, assets, protocols, ...)")],
    texts: Annotated[Path | None, typer.Option("--texts", help="texts JSONL (default: shared data)")] = None,
    llm: LlmOpt = False,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
) -> None:
    from parser.evaluate import evaluate

    report = evaluate(_parser(llm, offline), labels, texts)
    if json_output:
        print(json.dumps(report, indent=2))
        return
    summary = {k: v for k, v in report.items() if k != "rows"}
    for key, value in summary.items():
        console.print(f"{key:>22}: {value}")
