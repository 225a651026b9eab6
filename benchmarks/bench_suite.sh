#!/usr/bin/env bash
# The full test suite on SQLite, an old checkout against this one, run alternately on the same
# machine: the wall time of each run, the ratio new/old, and the load before and after each.
#
#   benchmarks/bench_suite.sh [OLD_COMMIT] [ROUNDS]     (defaults: e17f92b, 1)
#
# The old commit is checked out with `git worktree add` into a temporary folder (removed after),
# with this checkout's .venv and built static files; each suite runs with PYTHONPATH set to its
# own folder, so the venv's editable install is not what is imported. Several rounds alternate
# old, new, old, new… so that a change in the machine's load falls on both. Each suite runs as
# its own `make test` did: the old one in one process, this one with the Makefile's PARALLEL
# (one pytest-xdist worker per core); set NEW_ARGS to run this one otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
NEW=$PWD
OLD_REV=${1:-e17f92b}
ROUNDS=${2:-1}
PY="$NEW/.venv/bin/python"
NEW_ARGS=${NEW_ARGS:--n auto --dist loadfile}
TMP=$(mktemp -d)
OLD="$TMP/old"
git worktree add --detach -q "$OLD" "$OLD_REV"
cleanup() { git worktree remove --force "$OLD" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
ln -s "$(readlink -f "$NEW/.venv")" "$OLD/.venv"
if [ -d "$NEW/static" ] && [ ! -e "$OLD/static/app.css" ]; then
  mkdir -p "$OLD/static" && cp -rn "$NEW/static/." "$OLD/static/"
fi

echo "old: $OLD_REV ($(git rev-parse --short "$OLD_REV")); new: $(git rev-parse --short HEAD)$(
  git diff --quiet HEAD || echo ' plus uncommitted changes'); $(nproc) cores"

run() {  # run LABEL FOLDER [PYTEST ARGS]: prints "LABEL SECONDS RC", the details on stderr
  local label=$1 dir=$2 start end rc=0
  shift 2
  echo "[$label] load before: $(uptime | sed 's/.*load average: //')" >&2
  start=$(date +%s.%N)
  (cd "$dir" && env -u GATEHOUSE_TEST_DATABASE_URL PYTHONPATH="$dir" \
     "$PY" -m pytest -p no:cacheprovider "$@" >"$TMP/$label.log" 2>&1) || rc=$?
  end=$(date +%s.%N)
  echo "[$label] load after:  $(uptime | sed 's/.*load average: //')" >&2
  echo "[$label] $(tail -1 "$TMP/$label.log")" >&2
  echo "$label $(echo "$end - $start" | bc) $rc"
}

old_total=0 new_total=0 failed=0
for round in $(seq "$ROUNDS"); do
  read -r _ old_s old_rc < <(run "old-$round" "$OLD")
  # shellcheck disable=SC2086  # NEW_ARGS is a list of words
  read -r _ new_s new_rc < <(run "new-$round" "$NEW" $NEW_ARGS)
  printf 'round %d: old %.1f s (exit %s), new %.1f s (exit %s), new/old %.2f\n' \
    "$round" "$old_s" "$old_rc" "$new_s" "$new_rc" "$(echo "$new_s / $old_s" | bc -l)"
  old_total=$(echo "$old_total + $old_s" | bc) new_total=$(echo "$new_total + $new_s" | bc)
  [ "$old_rc" = 0 ] && [ "$new_rc" = 0 ] || failed=1
done
printf 'total: old %.1f s, new %.1f s, new/old %.2f\n' "$old_total" "$new_total" \
  "$(echo "$new_total / $old_total" | bc -l)"
exit "$failed"
