#!/usr/bin/env bash
# `kubectl apply -k examples/` works and is safe by default: `kubectl kustomize examples/` (the
# kubectl from tests/tools) renders every manifest of examples/*.yaml, all in namespace dr, and the
# policy is in `mode: Plan` (nothing is powered off or reprotected before someone switches to Apply).
# Last line: "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="${REPROTECT_TOOLS_BIN:-$(bash "$root/tests/tools/build.sh" --print-dir)}"
kubectl="$bin/kubectl"
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}
if [[ ! -x "$kubectl" ]]; then
  fail "kubectl not found at $kubectl: build the test tools first (tests/tools/build.sh) or set REPROTECT_TOOLS_BIN"
  finish
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT

if "$kubectl" kustomize "$root/examples" >"$out" 2>&1; then pass "kubectl kustomize examples/"; else fail "kubectl kustomize examples/: $(head -n 5 "$out")"; finish; fi

# Every document of every examples/*.yaml is in the kustomization's output.
want=$(cat "$root"/examples/*.yaml | grep -c '^kind: ')
got=$(grep -c '^kind: ' "$out")
[[ $got -eq $want && $want -ge 8 ]] && pass "all $want manifests of examples/*.yaml rendered" || fail "rendered $got manifests, examples/*.yaml has $want"
listed=$(sed -n 's/^  - \(.*\.yaml\)$/\1/p' "$root/examples/kustomization.yml" | sort | tr '\n' ' ')
present=$(cd "$root/examples" && ls -1 *.yaml | sort | tr '\n' ' ')
[[ "$listed" == "$present" ]] && pass "kustomization lists every examples/*.yaml" || fail "kustomization lists [$listed], examples/ has [$present]"
[[ $(grep -c '^  namespace: dr$' "$out") -eq $got ]] && pass "every object in namespace dr" || fail "objects outside namespace dr"

# Safe by default.
modes=$(grep -E '^  mode: ' "$out" | sort -u | tr -d ' ')
[[ "$modes" == "mode:Plan" ]] && pass "the policy starts in mode: Plan" || fail "policy mode is '$modes', want Plan (examples must not act before the plan was read)"
grep -q 'kubectl patch rpp dr-failback -n dr --type merge' "$root/examples/01-policy.yaml" && pass "01-policy.yaml shows how to switch to Apply" || fail "01-policy.yaml does not say how to switch to Apply"

finish
