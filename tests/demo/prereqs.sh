#!/usr/bin/env bash
# make prereqs: check what `make demo` / `make test` need and say what to install when something is missing.
#
# Needed: cargo + rustc at least the workspace's rust-version (Cargo.toml), Go at least the go
# directive of tests/tools/*/go.mod (1.26), a C linker (cc) for Rust build scripts, and
# bash/sha256sum/flock (coreutils, util-linux) and jq. Everything else (kube-apiserver, etcd, kubectl,
# helm, kubeconform, vcsim, the ASR simulator) is built by make itself.
# Exit 0 when everything is there; exit 1 with one line per problem otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."

problems=()

# version_ge HAVE NEED: true when dotted version HAVE >= NEED.
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

rust_need=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
go_need=$(sed -n 's/^go \([0-9.]*\)$/\1/p' tests/tools/*/go.mod tests/promtool/go.mod 2>/dev/null | sort -V | tail -n1)
go_need=${go_need:-1.26}

if ! command -v cargo >/dev/null || ! command -v rustc >/dev/null; then
  problems+=("Rust is not installed: install rustup (https://rustup.rs) and run 'rustup toolchain install stable' (need rustc >= $rust_need)")
else
  rust_have=$(rustc --version | awk '{print $2}' | sed 's/-.*//')
  if ! version_ge "$rust_have" "$rust_need"; then
    problems+=("rustc $rust_have is older than the workspace's rust-version $rust_need: run 'rustup update stable'")
  fi
fi

if ! command -v go >/dev/null; then
  problems+=("Go is not installed (needed to build kube-apiserver, etcd, kubectl, helm and vcsim for the tests): install Go >= $go_need from https://go.dev/dl/")
else
  go_have=$(go env GOVERSION 2>/dev/null | sed 's/^go//; s/-.*//')
  if [[ -z "$go_have" ]] || ! version_ge "$go_have" "$go_need"; then
    problems+=("Go ${go_have:-unknown} is older than $go_need (tests/tools/*/go.mod): install Go >= $go_need from https://go.dev/dl/ (GOTOOLCHAIN=local: no automatic download)")
  fi
fi

if ! command -v cc >/dev/null && ! command -v gcc >/dev/null && ! command -v clang >/dev/null; then
  problems+=("no C compiler/linker (cc): install build-essential (Debian/Ubuntu) or gcc")
fi
for tool in sha256sum flock setsid; do
  command -v "$tool" >/dev/null || problems+=("'$tool' is not on PATH: install coreutils/util-linux")
done
# make test lists the test executables from cargo's JSON messages (tests/run-tests.sh).
command -v jq >/dev/null || problems+=("'jq' is not on PATH (make test reads cargo's JSON with it): install jq")

if ((${#problems[@]})); then
  echo "make prereqs: missing prerequisites:" >&2
  for p in "${problems[@]}"; do echo "  - $p" >&2; done
  exit 1
fi
echo "prereqs: ok (rustc ${rust_have} >= ${rust_need}, go ${go_have} >= ${go_need}, cc)" >&2
