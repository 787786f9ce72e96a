"""The review's second pass: what a new treasurer or a platform admin reads when something is refused
(docs/REVIEW-NOTES.md, "Fixed in the second pass"). Errors are sentences on every surface (chat, CLI,
REST API); the CLI names CLI commands; a missing file is called missing; ``--help`` shows flags as
flags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from core import formatting
from core.db import Database
from core.errors import ValidationError
from core.formatting import sentence
from tests.e2e.chat_support import ADMIN_ID, ChatWorld, make_token

EXAMPLE_SPEC = Path(__file__).resolve().parents[2] / "examples" / "specs" / "btc_golden_cross.json"


@pytest.fixture(autouse=True)
def _own_db_option(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``--db`` sets ARENA_DB_URL for the process; each test here starts without it and leaves none."""
    from core.config import get_settings

    monkeypatch.delenv("ARENA_DB_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``arena ARGS`` in this process through the entry point's error handling: (code, stdout, stderr)."""
    from bot import cli
    from bot.cli_errors import run_cli

    cli._register_subcommands()
    with pytest.raises(SystemExit) as done:
        run_cli(cli.app, args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


# -- 1. every error a sentence -------------------------------------------------------------------------


def test_sentence_capitalises_words_but_not_names() -> None:
    assert sentence("the Free plan is manual only: hybrid mode needs an AI plan") == (
        "The Free plan is manual only: hybrid mode needs an AI plan")
    assert sentence("cannot read x") == "Cannot read x"
    assert sentence("Already a sentence.") == "Already a sentence."
    for name in ("entry_rule: unknown function foo", "aave_v2:USDC is not a market", "/tokens lists them",
                 "--engine must be one of backtrader, vector", "full-ai mode", "e.g. this", ""):
        assert sentence(name) == name


@given(st.text(max_size=60))
def test_sentence_changes_at_most_the_first_letter_and_is_idempotent(text: str) -> None:
    shown = sentence(text)
    assert len(shown) == len(text) and shown[1:] == text[1:]
    assert sentence(shown) == shown
    if shown != text:  # only a plain lower-case first word is touched, and only to its capital
        assert text[0].islower() and shown[0] == text[0].upper()


def test_chat_refusals_start_with_a_capital(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    world.verify(world.onboard(100))
    # the plan check and the proof raise lower-case lines; the chat shows sentences
    assert world.say(100, "/mode hybrid").text.startswith("The Free plan is manual only: hybrid mode")
    assert world.say(100, "/plan gold").text == "Unknown plan 'gold'; choose free, basic or premium"
    assert world.say(100, "/proof").text.startswith("No proof of liabilities has been published yet")


def test_cli_errors_start_with_a_capital(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["--db", str(tmp_path / "none.db"), "status"], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: There is no database at {tmp_path / 'none.db'}; run `arena init`"), err


def test_api_problem_detail_is_a_sentence() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from bot.web import problems

    app = FastAPI()
    problems.install(app)

    @app.get("/refuse")
    def refuse() -> None:
        raise ValidationError("the amount must be positive")

    answer = TestClient(app).get("/refuse")
    assert answer.status_code == 422  # a validation error
    assert answer.json()["detail"] == "The amount must be positive"


# -- 2. the proof before its first publication ------------------------------------------------------


def test_proof_before_publication_says_who_publishes_it_when_and_how(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    from scheduler.jobs import JOBS

    job = next(j for j in JOBS if j.id == "proof_of_liabilities")
    daily_at = f"{job.cron['hour']:02d}:{job.cron['minute']:02d} UTC"  # what the scheduler really runs
    expected = ("No proof of liabilities has been published yet: `arena serve` publishes one every day at "
                f"{daily_at}, and an operator can publish one now with `arena proof publish`.")
    world = ChatWorld(sqlite_db)
    world.verify(world.onboard(100))
    assert world.say(100, "/proof").text == expected
    code, _out, err = _cli(["--db", sqlite_db.url, "proof", "show", "--wallet", "1"], capsys)
    assert (code, err) == (2, f"error: {expected}\n")


# -- 3. the CLI names CLI commands ----------------------------------------------------------------


def test_unknown_token_names_arena_status_on_the_cli_and_tokens_in_chat(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    make_token(sqlite_db, "STRAT-REVIEW-001", supply="100000000")
    code, _out, err = _cli(["--db", sqlite_db.url, "distribution", "FOO", "distribute"], capsys)
    assert (code, err) == (2, "error: Unknown token FOO; `arena status` lists the tokens\n")
    world = ChatWorld(sqlite_db)
    world.verify(world.onboard(100))
    assert world.say(100, "/book FOO").text == "Unknown token FOO; /tokens lists the available ones"


# -- 4 and 5. a missing file is called missing --------------------------------------------------------


def test_backtest_of_a_missing_spec_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    code, _out, err = _cli(["backtest", str(missing)], capsys)
    assert (code, err) == (2, f"error: Spec file {missing} does not exist\n")
    code, _out, err = _cli(["backtest", str(tmp_path)], capsys)
    assert (code, err) == (2, f"error: Spec file {tmp_path} is a folder, not a file\n")


def test_import_of_a_missing_file_says_the_file_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from parser.sources.registry import resolve_source

    kinds = "(a source is a registry name, an http(s) URL or a local .jsonl/.txt/.md file)"
    with pytest.raises(ValidationError) as missing:
        resolve_source("missing.jsonl")
    assert str(missing.value) == f"file missing.jsonl does not exist {kinds}"
    with pytest.raises(ValidationError) as folder:
        resolve_source(f"{tmp_path}/")
    assert str(folder.value) == f"file {tmp_path}/ is a folder, not a file {kinds}"
    with pytest.raises(ValidationError) as unknown:  # a bare word is still a registry name
        resolve_source("no-such-source")
    assert str(unknown.value).startswith("unknown source 'no-such-source'; configured sources: ")
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "buy and hold"}\n')
    assert resolve_source(str(texts)) == texts
    db = tmp_path / "import.db"
    code, _out, err = _cli(["--db", str(db), "import", "--source", str(tmp_path / "nope.jsonl")], capsys)
    assert (code, err.splitlines()[0]) == (2, f"error: File {tmp_path / 'nope.jsonl'} does not exist {kinds}")


# -- 6. --help shows flags as flags ---------------------------------------------------------------


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in getattr(group, "commands", {}).items():
        found.append((*path, name))
        found.extend(_commands(command, (*path, name)))
    return found


def test_help_shows_flags_without_a_type_label(sqlite_db: Database) -> None:
    import typer

    from bot import cli

    cli._register_subcommands()
    runner = CliRunner()
    db = ["--db", sqlite_db.url]  # in-process, sys.argv is pytest's: the database check runs
    status = runner.invoke(cli.app, [*db, "status", "--help"], terminal_width=100)
    assert status.exit_code == 0, status.output
    lines = [line.strip("│ ").rstrip() for line in status.output.splitlines()]
    assert any(re.fullmatch(r"--json\s+Print JSON\.", line) for line in lines), status.output
    assert any(re.fullmatch(r"--help\s+Show this message and exit\.", line) for line in lines), status.output
    shown = runner.invoke(cli.app, [*db, "plan", "show", "--help"], terminal_width=100)
    assert "--wallet" in shown.output and "<int>" in shown.output  # an option with a value keeps its label
    every = _commands(typer.main.get_command(cli.app))
    assert ("proof", "verify") in every and ("status",) in every
    for path in [(), *every]:
        helped = runner.invoke(cli.app, [*db, *path, "--help"], terminal_width=100)
        assert helped.exit_code == 0, (path, helped.output)
        assert "<bool>" not in helped.output, (path, helped.output)


# -- 7. /strategies, /apply and /token in words ------------------------------------------------------


def test_family_and_state_words() -> None:
    from core.models.pipeline import CandidateState
    from core.spec.model import Family

    assert formatting.family_name(Family.YIELD_ROTATION) == "yield rotation"
    assert formatting.family_name("ma_crossover") == "moving average crossover"
    assert formatting.candidate_state(CandidateState.FAILED_GATE) == "failed the quality gate"
    assert formatting.candidate_state("proving") == "paper trading before it can become a token"
    for state in CandidateState:  # every state has words of its own, none an identifier
        assert "_" not in formatting.candidate_state(state)
    for family in Family:
        assert "_" not in formatting.family_name(family)


def _candidate(db: Database, n: int, state: str, family: str | None, asset: str | None,
               symbol: str | None = None) -> None:
    from core.models.pipeline import CandidateState, SourceDocument, StrategyCandidate

    with db.uow() as uow:
        now = uow.clock.now()
        doc = SourceDocument(source="chat", kind="text", url=f"submission:{n}",
                             content_hash=str(n).ljust(64, "0"), title=f"text {n}", text="buy the dip",
                             provenance={}, fetched_at=now, created_at=now)
        uow.session.add(doc)
        uow.session.flush()
        uow.session.add(StrategyCandidate(document_id=doc.id, state=CandidateState(state), family=family,
                                          primary_asset=asset, token_symbol=symbol, created_at=now,
                                          updated_at=now))
        uow.commit()


def test_strategies_in_words(sqlite_db: Database) -> None:
    world = ChatWorld(sqlite_db)
    _candidate(sqlite_db, 1, "failed_gate", "yield_rotation", "USDC")
    _candidate(sqlite_db, 2, "tokenized", "lending", "USDC", "STRAT-LENDING-USDC-001")
    _candidate(sqlite_db, 3, "discovered", None, None)
    assert world.say(5, "/strategies").text == (
        "Strategy candidates (newest first):\n"
        "#3 not parsed yet: found, not parsed yet\n"
        "#2 lending on USDC: became token STRAT-LENDING-USDC-001\n"
        "#1 yield rotation on USDC: failed the quality gate\n"
        "Backtest one: /backtest ID"
    )


def test_apply_says_what_the_check_is_and_keeps_the_fingerprint_for_the_reviewer(sqlite_db: Database) -> None:
    from sqlalchemy import select

    from core.models.agreements import VerificationApplication

    world = ChatWorld(sqlite_db)
    world.onboard(100)
    with sqlite_db.uow(read_only=True) as uow:
        signed = uow.session.scalars(select(VerificationApplication.signer_attestation_sha256)).one()
    fingerprint = signed[:12]
    mine = world.say(100, "/apply").text
    assert "signer's attestations: recorded;" in mine and fingerprint not in mine, mine
    assert "identity check: reviewed by a platform admin." in mine and "check: manual" not in mine, mine
    queue = world.say(ADMIN_ID, "/pending").text
    assert f"signer's attestations: recorded (SHA-256 {fingerprint});" in queue, queue


def test_token_says_the_risk_free_rate_once() -> None:
    from core.commands.handlers.market import gate_report_lines

    check = {"name": "history", "label": "history", "applicable": True, "passed": True, "value": 400,
             "threshold": 180, "comparison": ">="}
    synthetic = {"passed": True, "checks": [check], "trials_text": 1, "trials_total": 5,
                 "risk_free": {"name": "none (synthetic market): 0 %", "mean_annual_rate": 0.0}}
    lines = gate_report_lines(synthetic)
    assert lines[0] == "Birth gate: passed (risk-free rate: 0%, none in the synthetic market)"
    assert lines[1] == "Trials: 1 variant of this strategy, 5 overall; chosen: as parsed"
    folder = {**synthetic, "risk_free": {"name": "none found in data/rates: 0 %", "mean_annual_rate": 0.0}}
    assert gate_report_lines(folder)[0] == "Birth gate: passed (risk-free rate: 0%, none found in data/rates)"
    bills = {**synthetic, "risk_free": {"name": "3-month US T-bill (FRED DTB3)", "mean_annual_rate": 0.042}}
    assert gate_report_lines(bills)[0] == (
        "Birth gate: passed (risk-free rate: 3-month US T-bill (FRED DTB3), mean 4.20% a year)")
