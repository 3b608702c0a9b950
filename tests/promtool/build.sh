#!/usr/bin/env bash
# Builds Prometheus' promtool once into a cache outside the clone (apart from tests/tools, so adding it did
# not rebuild the Kubernetes tools): ${XDG_CACHE_HOME:-$HOME/.cache}/reprotect-controller/promtool/<hash>/promtool
# <hash> covers go.mod, go.sum, tools.go, this script and `go version`. The LAST line of stdout is the binary.
#   tests/promtool/build.sh              build if needed (about 3 minutes the first time), print the path
#   tests/promtool/build.sh --print-path print the path, build nothing
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
command -v go >/dev/null || { echo "promtool/build.sh: 'go' is not on PATH (need Go >= 1.26)" >&2; exit 1; }
hash=$(cd "$here" && { go version; sha256sum go.mod go.sum tools.go build.sh; } | sha256sum | cut -c1-16)
dir="${XDG_CACHE_HOME:-$HOME/.cache}/reprotect-controller/promtool/$hash"
bin="$dir/promtool"
if [[ "${1:-}" == "--print-path" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
exec 9>"$dir/lock"
command -v flock >/dev/null && flock 9
if [[ ! -x "$bin" ]]; then
  start=$(date +%s)
  echo "promtool: building into $dir (first time about 3 minutes)" >&2
  (cd "$here" && go build -trimpath -ldflags=-s -o "$bin.partial" github.com/prometheus/prometheus/cmd/promtool)
  mv "$bin.partial" "$bin"
  echo "promtool: built in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin"
