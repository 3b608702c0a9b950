#!/usr/bin/env bash
# make demo leaves no process behind: run tests/demo/run.sh with a stand-in demo that starts
# children (as the real one starts etcd, kube-apiserver and vcsim) and check, after a normal end,
# after an end that forgets its children (std::process::exit) and after Ctrl-C (SIGINT to run.sh),
# that none of them is still running. Seconds, no build.
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# The stand-in: starts two long sleeps marked with a unique token, records their pids, then
# behaves as told by its first argument: "exit" ends at once leaving the children, "wait" waits
# for a signal and exits leaving them too (the worst case for run.sh).
cat >"$tmp/fake-demo" <<'FAKE'
#!/usr/bin/env bash
sleep 1000 & echo $! >>"$FAKE_PIDS"
bash -c 'sleep 1000' & echo $! >>"$FAKE_PIDS"
echo started >"$FAKE_PIDS.ready"
case "$1" in
  exit) exit 3 ;;
  wait) trap 'exit 0' INT TERM; while :; do sleep 0.1; done ;;
esac
FAKE
chmod +x "$tmp/fake-demo"

# leftovers FILE: pids from FILE still running (zombies not yet reaped by init do not count), after up to 3 s.
leftovers() {
  local p out
  for _ in $(seq 1 30); do
    out=""
    while read -r p; do
      [[ -n "$(ps -o stat= -p "$p" 2>/dev/null | grep -v Z)" ]] && out+="$p "
    done <"$1"
    [[ -z "$out" ]] && break
    sleep 0.1
  done
  echo "$out"
}

# 1. the demo ends (exit code kept) and leaves children: run.sh kills them.
export FAKE_PIDS="$tmp/pids1"
: >"$FAKE_PIDS"
REPROTECT_DEMO_BIN="$tmp/fake-demo" bash tests/demo/run.sh exit 2>"$tmp/err1"
rc=$?
[[ $rc -eq 3 ]] && pass "run.sh keeps the demo's exit code (3)" || fail "run.sh exit code $rc, want 3"
left=$(leftovers "$FAKE_PIDS")
[[ -z "$left" && $(wc -l <"$FAKE_PIDS") -eq 2 ]] && pass "no child left after the demo ended" || fail "children left after the demo ended: $left"
grep -q "killing processes left behind" "$tmp/err1" && pass "run.sh says it killed leftovers" || fail "run.sh did not report leftovers: $(cat "$tmp/err1")"

# 2. Ctrl-C: SIGINT to run.sh while the demo runs.
export FAKE_PIDS="$tmp/pids2"
: >"$FAKE_PIDS"
# A background job of this script would ignore SIGINT; a terminal's Ctrl-C does not, so restore it.
REPROTECT_DEMO_BIN="$tmp/fake-demo" env --default-signal=INT bash tests/demo/run.sh wait 2>"$tmp/err2" &
runner=$!
for _ in $(seq 1 100); do [[ -f "$FAKE_PIDS.ready" ]] && break; sleep 0.05; done
kill -INT "$runner"
wait "$runner"
rc=$?
[[ $rc -eq 130 ]] && pass "Ctrl-C: run.sh exits 130" || fail "Ctrl-C: run.sh exit code $rc, want 130"
left=$(leftovers "$FAKE_PIDS")
[[ -z "$left" && $(wc -l <"$FAKE_PIDS") -eq 2 ]] && pass "Ctrl-C: no child left" || fail "Ctrl-C: children left: $left"

# Leave nothing behind even when this test fails.
cat "$tmp"/pids* 2>/dev/null | xargs -r kill -KILL 2>/dev/null
if ((failures)); then
  echo "tests/demo/test_cleanup.sh: $failures failure(s)"
  exit 1
fi
echo "tests/demo/test_cleanup.sh: all passed"
