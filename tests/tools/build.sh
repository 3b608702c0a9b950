#!/usr/bin/env bash
# Builds the Go test tools (kube-apiserver, kubectl, etcd, helm, kubeconform, vcsim,
# vcsim-ext, kstatus-check) once, into a cache outside the clone:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/reprotect-controller/tools/<hash>/bin
# <hash> covers every go.mod/go.sum/*.go file (not *_test.go) under tests/tools, this script and `go version`,
# so a change to any of them builds a fresh set. A complete build leaves a stamp file and
# is reused as is. Progress goes to stderr; the LAST line of stdout is the bin directory.
#
#   tests/tools/build.sh              build if needed, print the bin directory
#   tests/tools/build.sh --print-dir  print the bin directory, build nothing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# name | module dir (under tests/tools) | package | extra -ldflags
tools=(
  "kube-apiserver|k8s|k8s.io/kubernetes/cmd/kube-apiserver|K8S"
  "kubectl|k8s|k8s.io/kubernetes/cmd/kubectl|K8S"
  "etcd|k8s|go.etcd.io/etcd/server/v3|"
  "helm|helm|helm.sh/helm/v4/cmd/helm|-X helm.sh/helm/v4/internal/version.version=v4.3.1"
  "kubeconform|helm|github.com/yannh/kubeconform/cmd/kubeconform|"
  "vcsim|vmware|./vcsim|"
  "vcsim-ext|vmware|./vcsim-ext|"
  "kstatus-check|kstatus|./kstatus-check|"
)
# Version stamps so clients (kubectl, helm's kubeVersion checks) see a real version.
k8s_version=v1.37.2
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=37"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

command -v go >/dev/null || { echo "build.sh: 'go' is not on PATH (need Go >= 1.26)" >&2; exit 1; }

hash=$(
  cd "$here"
  {
    go version
    find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) ! -name '*_test.go' | LC_ALL=C sort | xargs sha256sum
    sha256sum build.sh
  } | sha256sum | cut -c1-16
)
dir="${XDG_CACHE_HOME:-$HOME/.cache}/reprotect-controller/tools/$hash"
bin="$dir/bin"
stamp="$dir/complete"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$bin"
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "usage: $0 [--print-dir]" >&2
  exit 2
fi

mkdir -p "$dir"
# One builder at a time (several test binaries may call this at once).
exec 9>"$dir/lock"
if command -v flock >/dev/null; then
  flock 9
fi

if [[ -f "$stamp" ]]; then
  echo "test tools: using cached $bin" >&2
  echo "$bin"
  exit 0
fi

start=$(date +%s)
echo "test tools: building into $bin (first time takes minutes; later runs reuse it)" >&2
tmp="$dir/bin.partial"
rm -rf "$tmp"
mkdir -p "$tmp"
# One builder per Go module, the modules side by side: each `go build` already uses both cores for
# compiling, but links and the module's own serial stretches leave one idle, and the modules share
# nothing but GOCACHE (safe for concurrent builds). Measured cold on 2 cores: see README (install).
build_module() {
  local mod=$1 entry name m pkg ldflags t0
  for entry in "${tools[@]}"; do
    IFS='|' read -r name m pkg ldflags <<<"$entry"
    [[ "$m" == "$mod" ]] || continue
    [[ "$ldflags" == K8S ]] && ldflags="$k8s_ldflags"
    t0=$(date +%s)
    echo "test tools: building $name (tests/tools/$mod: $pkg)..." >&2
    if ! go -C "$here/$mod" build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/$name" "$pkg" >&2; then
      echo "test tools: FAILED to build $name from tests/tools/$mod ($pkg); see the go output above" >&2
      return 1
    fi
    echo "test tools: built $name in $(($(date +%s) - t0))s" >&2
  done
}
modules=()
for entry in "${tools[@]}"; do
  IFS='|' read -r _ m _ _ <<<"$entry"
  [[ " ${modules[*]} " == *" $m "* ]] || modules+=("$m")
done
pids=()
for m in "${modules[@]}"; do
  build_module "$m" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
if [[ $failed -ne 0 ]]; then
  exit 1
fi
rm -rf "$bin"
mv "$tmp" "$bin"
date -u +%FT%TZ >"$stamp"
echo "test tools: all built in $(($(date +%s) - start))s" >&2
echo "$bin"
