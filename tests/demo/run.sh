#!/usr/bin/env bash
# make demo: build the test tools and the demo, then run it. Usage: run.sh [full|short]
#
# The demo binary lives in tests/e2e (src/bin/demo.rs): it starts etcd + kube-apiserver, vcsim
# shaped as an on-premises site, the ASR simulator, applies the examples and runs the controller
# with a live table. `short` (CI) is bounded and exits non-zero unless every machine ended in its
# expected phase; `full` keeps everything running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-full}"
echo "demo: building (or reusing) the Go test tools: kube-apiserver, etcd, kubectl, helm, vcsim" >&2
export REPROTECT_TOOLS_BIN="$(bash tests/tools/build.sh | tail -n1)"
echo "demo: building the controller and the demo" >&2
cargo build -q -p reprotect-e2e --bin demo
exec "${CARGO_TARGET_DIR:-target}/debug/demo" "$mode"
