#!/usr/bin/env bash
# make test's runner for the workspace's Rust test executables: runs each as `cargo test` would (from
# its package directory, `--test-threads=4` inside it), but LANES executables at a time instead of one.
#
# Why not `cargo test` alone: it runs executables one after another, and the end-to-end ones spend
# most of their time waiting on simulated Azure jobs and timers (a core is idle 95% of the time), so
# make test took 14 min. Why not cargo-nextest: it runs every test in its own process, and each
# end-to-end executable shares one etcd + kube-apiserver among its tests, so nextest would start a
# control plane per test. Executables start longest first, by the durations of the last run
# ($CARGO_TARGET_DIR/test-durations.tsv; end-to-end executables first when there is none).
# Each one's output goes to a log; failures are printed whole at the end (their logs are kept), exit 1.
#
#   tests/run-tests.sh [LANES]     (default $REPROTECT_TEST_LANES, else 4)
set -euo pipefail
cd "$(dirname "$0")/.."
lanes="${1:-${REPROTECT_TEST_LANES:-4}}"
target="${CARGO_TARGET_DIR:-target}"
durations="$target/test-durations.tsv"
logs=$(mktemp -d "${TMPDIR:-/tmp}/reprotect-tests-XXXXXX")

# name<TAB>kind<TAB>executable<TAB>package dir, for every executable `cargo test` would run; the name is
# package/target, as two packages may have a test target of the same name.
cargo test --workspace --all-targets --no-run --message-format=json |
  jq -r 'select(.reason == "compiler-artifact" and .executable != null and .profile.test)
         | [((.manifest_path | split("/"))[-2] + "/" + .target.name), .target.kind[0], .executable, (.manifest_path | sub("/Cargo.toml$"; ""))] | @tsv' >"$logs/all.tsv"
[[ -s "$logs/all.tsv" ]] || { echo "run-tests: cargo listed no test executables (does the workspace build?)" >&2; exit 1; }

# Longest first: last run's seconds, else 1000 for end-to-end executables and 0 for the rest.
while IFS=$'\t' read -r name kind exe dir; do
  last=$(awk -F'\t' -v k="$name ($kind)" '$1 == k { print $2 }' "$durations" 2>/dev/null | tail -n1 || true)
  [[ -n "$last" ]] || { [[ "$dir" == */tests/e2e ]] && last=1000 || last=0; }
  printf '%s\t%s\t%s\t%s\t%s\n' "$last" "$name" "$kind" "$exe" "$dir"
done <"$logs/all.tsv" | sort -t$'\t' -k1,1 -g -r | cut -f2- >"$logs/queue.tsv"

run_one() {
  local name=$1 kind=$2 exe=$3 dir=$4 log="$logs/${1//\//-}-$2.log" t0 rc secs summary
  t0=$(date +%s.%N)
  set +e
  (cd "$dir" && "$exe" --test-threads=4) >"$log" 2>&1
  rc=$?
  set -e
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  summary=$(grep -E '^test result:' "$log" | tail -n1)
  printf '%s (%s)\t%s\n' "$name" "$kind" "$secs" >>"$logs/durations.tsv"
  # cargo test's own lines, so whoever reads the output (or greps `test result:`) sees the same.
  if [[ $rc -eq 0 ]]; then
    printf '     Running %s (%s) in %ss\n%s\n' "$name" "$kind" "$secs" "${summary:-test result: ok. no tests}"
  else
    printf '     Running %s (%s) in %ss: FAILED (exit %s)\n%s\n' "$name" "$kind" "$secs" "$rc" "${summary:-test result: FAILED.}"
    echo "$log" >>"$logs/failed"
  fi
}
export -f run_one
export logs

echo "run-tests: $(wc -l <"$logs/queue.tsv") test executables, $lanes at a time (logs in $logs)"
start=$(date +%s)
tr '\t' '\n' <"$logs/queue.tsv" | xargs -d '\n' -n 4 -P "$lanes" bash -c 'run_one "$@"' _
cp "$logs/durations.tsv" "$durations" 2>/dev/null || true
echo "run-tests: done in $(( $(date +%s) - start ))s"
if [[ -s "$logs/failed" ]]; then
  while read -r log; do
    echo; echo "==== $log"; cat "$log"
  done <"$logs/failed"
  echo; echo "run-tests: $(wc -l <"$logs/failed") test executable(s) FAILED:"; sed 's#.*/#  #; s#\.log$##' "$logs/failed"
  exit 1
fi
rm -rf "$logs"
