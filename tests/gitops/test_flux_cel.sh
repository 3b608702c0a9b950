#!/usr/bin/env bash
# Evaluates the healthCheckExprs of deploy/flux/healthcheck-example.yaml against every fixture in
# tests/gitops/fixtures/*.json with fluxcel (tests/gitops/fluxcel: cel-go with the environment and
# evaluation order of Flux's StatusEvaluator) and asserts column 4 of tests/gitops/expectations.tsv
# ("Error" = the expressions cannot be evaluated on that object, which Flux reports and retries).
# Builds fluxcel offline from the Go module cache (same cel-go version tests/tools/k8s pins; the
# test tools build fills the cache). Without Go, or without the modules, prints a note and skips.
# Last line: "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
kustomization="$root/deploy/flux/healthcheck-example.yaml"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

if ! command -v go >/dev/null; then
  echo "note: go not found; Flux CEL checks skipped"
  echo "0 passed, 0 failed"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! build_log=$(cd "$here/fluxcel" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOPROXY="${GOPROXY:-off}" go build -o "$tmp/fluxcel" . 2>&1); then
  if grep -q "GOPROXY=off\|module lookup disabled\|missing go.sum entry\|cannot find module" <<<"$build_log"; then
    echo "note: cel-go modules are not in the Go module cache (run tests/tools/build.sh, or set GOPROXY); Flux CEL checks skipped"
    echo "$build_log" | tail -n 3
    echo "0 passed, 0 failed"
    exit 0
  fi
  echo "$build_log"
  fail "fluxcel does not build"
  echo "$passed passed, $failed failed"
  exit 1
fi

while IFS=$'\t' read -r name _want_health _want_kstatus want why; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  fixture="$here/fixtures/$name.json"
  out=$("$tmp/fluxcel" -kustomization "$kustomization" <"$fixture" 2>&1)
  got=${out%%:*}
  if [[ "$got" == "$want" ]]; then
    pass "$name: $out ($why)"
  else
    fail "$name: want $want, got $out ($why)"
  fi
done <"$here/expectations.tsv"

# Guard against the classic mistake: filter(...).all(...) is true on an empty list, so an object
# without a Stalled condition would be Failed. An object with only Ready=True must be Current.
minimal='{"apiVersion":"reprotect.io/v1alpha1","kind":"ProtectedMachine","metadata":{"name":"m","generation":1},"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"True"}]}}'
out=$("$tmp/fluxcel" -kustomization "$kustomization" <<<"$minimal")
if [[ "$out" == "Current" ]]; then pass "Ready=True without Stalled/Reconciling conditions: Current"; else fail "Ready=True without Stalled/Reconciling conditions: want Current, got $out"; fi
noready='{"apiVersion":"reprotect.io/v1alpha1","kind":"MasterTarget","metadata":{"name":"m","generation":1},"status":{"observedGeneration":1,"conditions":[]}}'
out=$("$tmp/fluxcel" -kustomization "$kustomization" <<<"$noready")
if [[ "$out" == "InProgress" ]]; then pass "empty conditions: InProgress"; else fail "empty conditions: want InProgress, got $out"; fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
