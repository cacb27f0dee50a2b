#!/usr/bin/env bash
# The test suite N times in a row on a busy machine: two CPU-bound burner
# processes keep both cores busy while each round runs, so a test that races
# the wall clock shows up here rather than on a loaded CI runner.
#
# Usage: scripts/busy_suite.sh [ROUNDS] [LOG] [PYTEST ARGS...]
#   ROUNDS  rounds to run (default 5); stops at the first failing round
#   LOG     file the summary lines are appended to (default busy_suite.log);
#           a failing round's full output goes to LOG.round-N.txt
#   PYTEST ARGS  what to run (default: the whole suite)
# Example: scripts/busy_suite.sh 1 /tmp/busy.log tests/test_dispatcher.py
# Env: PYTHON (default .venv/bin/python), BURN_SECONDS (a burner's limit per
# round, default 1800).
set -uo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${1:-5}"
LOG="${2:-busy_suite.log}"
shift $(($# < 2 ? $# : 2))
PYTHON="${PYTHON:-.venv/bin/python}"
BURN_SECONDS="${BURN_SECONDS:-1800}"
BURNERS=2

case "$ROUNDS" in '' | *[!0-9]*) echo "ROUNDS must be a number: $ROUNDS" >&2; exit 2 ;; esac
OUTPUT="$(mktemp)"
burners=()
suite=""

start_burners() {
    local i
    for i in $(seq "$BURNERS"); do
        # Spins until its own deadline, so it cannot outlive a killed script.
        "$PYTHON" -c "import time
end = time.monotonic() + $BURN_SECONDS
while time.monotonic() < end: pass" &
        burners+=("$!")
    done
}

stop_burners() {
    local pid
    for pid in "${burners[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    burners=()
}

cleanup() {
    if [ -n "$suite" ]; then
        kill "$suite" 2>/dev/null
        wait "$suite" 2>/dev/null
    fi
    stop_burners
    rm -f "$OUTPUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) $ROUNDS round(s), $BURNERS burners on $(nproc) cores: pytest ${*:-(whole suite)}" | tee -a "$LOG"
for round in $(seq "$ROUNDS"); do
    start_burners
    started=$(date +%s)
    # In the background: a signal's trap runs at once, not after the round.
    "$PYTHON" -m pytest -q -x -p no:cacheprovider "$@" >"$OUTPUT" 2>&1 &
    suite=$!
    wait "$suite"
    rc=$?
    suite=""
    seconds=$(($(date +%s) - started))
    stop_burners
    # pytest's count line ("N passed, M skipped in S s"), wherever -q put it.
    last="$(grep -E '[0-9]+ (passed|failed|error)' "$OUTPUT" | tail -n 1)"
    [ -n "$last" ] || last="$(grep -v '^\s*$' "$OUTPUT" | tail -n 1)"
    echo "round $round/$ROUNDS rc=$rc: $last [${seconds} s]" | tee -a "$LOG"
    if [ "$rc" -ne 0 ]; then
        cp "$OUTPUT" "$LOG.round-$round.txt"
        echo "round $round failed; its output: $LOG.round-$round.txt" >&2
        exit "$rc"
    fi
done
