#!/usr/bin/env bash
# Pipes every fixture in tests/gitops/fixtures/*.json through `kstatus-check` (sigs.k8s.io/cli-utils
# kstatus, the library behind Flux's default health checks and `kubectl wait`-style tooling) and
# asserts the computed status listed in tests/gitops/expectations.tsv (column 3), e.g.
# Protected -> Current, WaitingForAgent/Reprotecting -> InProgress, Blocked (Stalled=True) -> Failed,
# stale observedGeneration -> InProgress.
# kstatus-check comes from tests/tools/build.sh: $REPROTECT_TOOLS_BIN, else `build.sh --print-dir`
# (this script never builds the tools; it fails with a message when they are missing).
# Last line: "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="${REPROTECT_TOOLS_BIN:-$(bash "$root/tests/tools/build.sh" --print-dir)}"
check="$bin/kstatus-check"
if [[ ! -x "$check" ]]; then
  echo "test_kstatus: $check not found; build the test tools first: tests/tools/build.sh (or set REPROTECT_TOOLS_BIN)"
  echo "0 passed, 1 failed"
  exit 1
fi
command -v jq >/dev/null || { echo "test_kstatus: jq is required"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

while IFS=$'\t' read -r name _want_health want _want_flux why; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  fixture="$here/fixtures/$name.json"
  if [[ ! -f "$fixture" ]]; then
    fail "$name: fixture $fixture missing"
    continue
  fi
  if ! out=$("$check" <"$fixture" 2>&1); then
    fail "$name: kstatus-check error: $out"
    continue
  fi
  got=$(jq -r .status <<<"$out")
  msg=$(jq -r .message <<<"$out")
  if [[ "$got" == "$want" ]]; then
    pass "$name: $got ($why)"
  else
    fail "$name: want $want, got $got: $msg ($why)"
  fi
done <"$here/expectations.tsv"

# The same fixtures as YAML (what `kubectl get -o yaml` and Git hold) give the same answer.
# yq is either the Python wrapper (yq -y) or mikefarah's Go yq (yq -P); skipped when neither works.
to_yaml() { yq -y . "$1" 2>/dev/null || yq -P . "$1" 2>/dev/null; }
if command -v yq >/dev/null && [[ "$(to_yaml "$here/fixtures/pm-protected.json")" == apiVersion:* ]]; then
  for name in pm-protected pm-blocked pm-stale-generation; do
    want=$("$check" <"$here/fixtures/$name.json" | jq -r .status)
    got=$(to_yaml "$here/fixtures/$name.json" | "$check" 2>/dev/null | jq -r .status)
    if [[ -n "$got" && "$got" == "$want" ]]; then pass "$name as YAML: $got"; else fail "$name as YAML: want $want, got '${got}'"; fi
  done
else
  echo "note: no usable yq; YAML round-trip checks skipped"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
