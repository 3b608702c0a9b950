#!/usr/bin/env bash
# make demo: build the test tools and the demo, then run it. Usage: run.sh [full|short]
#
# The demo binary lives in tests/e2e (src/bin/demo.rs): it starts etcd + kube-apiserver, vcsim
# shaped as an on-premises site, the ASR simulator, applies the examples and runs the controller
# with a live table. It is written but not yet verified, so tests/e2e is excluded from the
# workspace for now and this target says so instead of pretending.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-full}"
if grep -q '^exclude = \["tests/e2e"\]' Cargo.toml; then
  echo "make demo ($mode): not available yet. The demo (tests/e2e/src/bin/demo.rs) is written but not yet verified;" >&2
  echo "it will start a local API server, vcsim and the ASR simulator, apply examples/ and show every machine reaching Protected or Blocked." >&2
  echo "Meanwhile: 'make test' runs the controller, the simulator, vcsim and the real API server tests." >&2
  exit 2
fi
echo "demo: building (or reusing) the Go test tools: kube-apiserver, etcd, kubectl, helm, vcsim" >&2
export REPROTECT_TOOLS_BIN="$(bash tests/tools/build.sh | tail -n1)"
echo "demo: building the controller and the demo" >&2
cargo build -q -p reprotect-e2e --bin demo
exec "${CARGO_TARGET_DIR:-target}/debug/demo" "$mode"
