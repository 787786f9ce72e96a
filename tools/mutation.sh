#!/usr/bin/env bash
# Mutation testing (mutmut 3), one module at a time, with only that module's fast tests selected.
# Not part of CI: it takes minutes to hours. Figures and survivors go to docs/TESTING.md.
#
#   tools/mutation.sh MODULE            e.g. core/ledger, core/optimizer, core/risk,
#                                       core/commands/permissions.py, backtest/codegen.py,
#                                       backtest/metrics
#   MUTATION_JOBS=2 tools/mutation.sh core/risk     (parallel mutant workers; default 1)
#
# It runs in a scratch copy of the tracked files (so the work tree never holds a mutants/ folder),
# with PostgreSQL tests off (they are skipped without ARENA_TEST_PG_URL) and slow tests deselected.
# The summary (killed / survived / ... and the score) is printed and written, with the list of
# surviving mutants and their diffs, to out/mutation/<module>.txt in the work tree.
set -euo pipefail
MODULE="${1:?usage: tools/mutation.sh MODULE (e.g. core/ledger)}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JOBS="${MUTATION_JOBS:-1}"
ISOLATION="fork"
PY="${PYTHON:-python}"

case "$MODULE" in
  core/ledger/fees.py)
    # The whole ledger's selection takes ~1.5 min per mutant at today's load; fees have their own.
    TESTS="tests/integration/test_ledger_fees.py tests/integration/test_ledger_rounding.py" ;;
  core/ledger|core/ledger/|core/ledger/*.py)
    TESTS="tests/integration/test_ledger_errors.py tests/integration/test_ledger_fees.py
           tests/integration/test_ledger_idempotency.py tests/integration/test_ledger_integrity.py
           tests/integration/test_ledger_money_storage.py tests/integration/test_ledger_rounding.py
           tests/unit/test_ledger_idempotency_hash.py tests/integration/test_lock_order.py
           tests/integration/test_wallet_risk.py" ;;
  core/optimizer|core/optimizer/)
    TESTS="tests/unit/test_optimizer_degenerate.py tests/unit/test_optimizer_properties.py
           tests/unit/test_optimizer_reference.py tests/unit/test_optimizer_config.py
           tests/unit/test_optimizer_decision.py" ;;
  core/risk|core/risk/)
    TESTS="tests/integration/test_wallet_risk.py tests/integration/test_risk_exact.py
           tests/integration/test_lock_order.py" ;;
  core/commands/permissions.py)
    # The table is built at import: each mutant must import the module afresh (forkserver, no warmup).
    ISOLATION="forkserver"
    TESTS="tests/unit/test_auth_matrix.py tests/unit/test_permissions.py" ;;
  backtest/codegen.py)
    # The exact-semantics tests run the generated code (crosses, stops) through Backtrader.
    TESTS="tests/unit/test_codegen.py tests/unit/test_engine_semantics.py" ;;
  backtest/metrics|backtest/metrics/)
    TESTS="tests/unit/test_metrics.py" ;;
  *) echo "no test selection for $MODULE; add one to tools/mutation.sh" >&2; exit 2 ;;
esac
EXISTING=""
for t in $TESTS; do [ -f "$ROOT/$t" ] && EXISTING="$EXISTING $t"; done

NAME="$(echo "$MODULE" | tr '/' '_' | sed 's/_$//; s/\.py$//')"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/arena-mutation-$NAME.XXXX")"
trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$WORK"
if [ -d "$MODULE" ] || [ -d "$ROOT/$MODULE" ]; then ONLY="${MODULE%/}/*.py"; else ONLY="$MODULE"; fi
{
  echo "[mutmut]"
  echo "source_paths ="
  for p in core bot backtest parser scheduler prompts; do echo "    $p"; done
  echo "only_mutate = $ONLY"
  echo "do_not_mutate = */__init__.py"
  echo "process_isolation = $ISOLATION"
  if [ "$ISOLATION" = forkserver ]; then
    # Each mutant imports the project afresh: allow for that, or slow imports pass for timeouts.
    echo "forkserver_warmup = none"
    echo "timeout_constant = 300"
  fi
  echo "pytest_add_cli_args ="
  for a in -p no:cacheprovider -m "not slow"; do echo "    $a"; done
  echo "pytest_add_cli_args_test_selection ="
  for t in $EXISTING; do echo "    $t"; done
} > "$WORK/setup.cfg"

cd "$WORK"
unset ARENA_TEST_PG_URL
echo "mutating $ONLY with:$EXISTING (jobs: $JOBS)"
"$PY" -m mutmut run --max-children "$JOBS" || true
"$PY" -m mutmut export-cicd-stats >/dev/null 2>&1 || true
mkdir -p "$ROOT/out/mutation"
REPORT="$ROOT/out/mutation/$NAME.txt"
"$PY" - "$MODULE" > "$REPORT" <<'PY'
import json, subprocess, sys
stats = json.load(open("mutants/mutmut-cicd-stats.json"))
killed, survived = stats.get("killed", 0), stats.get("survived", 0)
timeout, suspicious = stats.get("timeout", 0), stats.get("suspicious", 0)
no_tests, skipped = stats.get("no_tests", 0), stats.get("skipped", 0)
caught = killed + timeout + stats.get("caught_by_type_check", 0)
judged = caught + survived + suspicious + no_tests
score = 100.0 * caught / judged if judged else 0.0
print(f"module {sys.argv[1]}: {judged} mutants, killed {killed}, timeout {timeout}, "
      f"survived {survived}, no tests {no_tests}, suspicious {suspicious}, skipped {skipped}: "
      f"score {score:.1f} %")
# Read mutmut's per-file meta data directly: `mutmut results` listed only some files' mutants.
import glob
names = []
for meta in sorted(glob.glob("mutants/**/*.py.meta", recursive=True)):
    codes = json.load(open(meta))["exit_code_by_key"]
    names += [k for k, code in sorted(codes.items()) if code in (0, 5, 33)]  # survived / no tests
for name in names:
    print("\n## " + name)
    print(subprocess.run([sys.executable, "-m", "mutmut", "show", name], capture_output=True, text=True).stdout)
PY
head -1 "$REPORT"
echo "report: $REPORT"
