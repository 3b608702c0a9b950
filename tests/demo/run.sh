#!/usr/bin/env bash
# make demo: build the test tools and the workspace, then run the demo. Usage: run.sh [full|short]
#
# The demo binary lives in tests/e2e (src/bin/demo.rs): it starts etcd + kube-apiserver, vcsim
# shaped as an on-premises site, the ASR simulator, applies the examples and runs the controller
# with a live table. `short` (CI) is bounded and exits non-zero unless every machine ended in its
# expected phase; `full` keeps everything running until Ctrl-C.
#
# One build for demo and tests: the workspace is built exactly as `make test` builds it
# (`cargo test --workspace --all-targets`, same profile and features), so whichever runs second
# reuses every artifact.
#
# No process is left behind: the demo runs in its own session (process group), Ctrl-C/TERM are
# forwarded to it, and whatever is still in the group when it ends (etcd, kube-apiserver, vcsim)
# is killed. REPROTECT_DEMO_BIN runs another program instead of building (tests/demo/test_cleanup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-full}"
demo="${REPROTECT_DEMO_BIN:-}"
if [[ -z "$demo" ]]; then
  bash tests/demo/prereqs.sh
  echo "demo: [1/2] building (or reusing) the Go test tools (kube-apiserver, etcd, kubectl, helm, vcsim, promtool) and, side by side, the workspace as 'make test' builds it (cargo test --workspace --all-targets --no-run); first time ~20 min, make test reuses all of it" >&2
  bash tests/build-all.sh
  REPROTECT_TOOLS_BIN="$(bash tests/tools/build.sh | tail -n1)"
  export REPROTECT_TOOLS_BIN
  demo="${CARGO_TARGET_DIR:-target}/debug/demo"
  echo "demo: [2/2] running $demo $mode" >&2
fi

# A background job of a non-interactive shell is not a group leader, so setsid execs in place:
# $! is the demo's pid and the id of its new process group.
setsid "$demo" "$mode" &
pgid=$!

group_alive() { kill -0 -- "-$pgid" 2>/dev/null; }
# stop: ask the demo to clean up (SIGTERM: a background job of a non-interactive shell ignores
# SIGINT, and the demo treats both alike), give it 10 s to exit; reap_leftovers then SIGKILLs
# whatever is left in its group.
stop() {
  kill -TERM "$pgid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pgid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "demo: still running 10s after Ctrl-C; killing it" >&2
}
reap_leftovers() {
  if group_alive; then
    echo "demo: killing processes left behind: $(pgrep -g "$pgid" -d ' ' 2>/dev/null || echo '?')" >&2
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
}
trap 'stop; reap_leftovers; exit 130' INT
trap 'stop; reap_leftovers; exit 143' TERM
trap reap_leftovers EXIT
set +e
wait "$pgid"
rc=$?
set -e
exit "$rc"
