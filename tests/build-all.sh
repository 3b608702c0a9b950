#!/usr/bin/env bash
# Builds everything `make demo` and `make test` need, side by side: the Go test tools
# (tests/tools/build.sh) and promtool (tests/promtool/build.sh) in the background while cargo builds
# the workspace in the foreground, exactly as `make test` runs it (`cargo test --workspace
# --all-targets --no-run`: one build shared by demo, test and bench-scale). Cold on 2 cores the
# builds overlap where each leaves a core idle (cargo's long single-crate stretch for vim_rs and its
# links, Go's links). Each part is cached on its own and reused as is; Go's progress is prefixed `[go]`.
#
#   tests/build-all.sh         everything
#   tests/build-all.sh --go    the Go tools and promtool only (make tools)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--go" ]]; then
  bash tests/tools/build.sh >/dev/null &
  tools=$!
  bash tests/promtool/build.sh >/dev/null &
  promtool=$!
  rc=0
  wait "$tools" || rc=1
  wait "$promtool" || rc=1
  exit "$rc"
fi

# Its own process group (setsid), so a failed or interrupted cargo build stops every Go build too.
setsid bash "$0" --go 2> >(sed -u 's/^/[go] /' >&2) &
go_pid=$!
trap 'kill -- "-$go_pid" 2>/dev/null || true' EXIT

cargo test --workspace --all-targets --no-run
if ! wait "$go_pid"; then
  echo "build-all: the Go test tools did not build (see the [go] lines above)" >&2
  exit 1
fi
trap - EXIT
