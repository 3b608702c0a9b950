#!/usr/bin/env bash
# The chart's crds/ must be byte-identical copies of the repository's generated crds/*.yaml
# (`make crds` regenerates them and runs `make chart-crds`, which copies them into the chart).
# Fails on any missing, extra or differing file. Last line: "N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chart=$(cd "$here/.." && pwd)
root=$(cd "$chart/../.." && pwd)
src="$root/crds"
dst="$chart/crds"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

shopt -s nullglob
generated=("$src"/*.yaml)
if [[ ${#generated[@]} -eq 0 ]]; then
  fail "no generated CRDs in $src (run: make crds)"
else
  pass "${#generated[@]} generated CRDs in crds/"
fi

for f in "${generated[@]}"; do
  name=$(basename "$f")
  if [[ ! -f "$dst/$name" ]]; then
    fail "$name: missing from the chart (run: make chart-crds)"
  elif cmp -s "$f" "$dst/$name"; then
    pass "$name: identical"
  else
    fail "$name: differs from crds/$name (run: make chart-crds)"
    diff -u "$f" "$dst/$name" | head -n 20
  fi
done

for f in "$dst"/*.yaml "$dst"/*.yml "$dst"/*.json; do
  name=$(basename "$f")
  [[ -f "$src/$name" ]] || fail "$name: in the chart's crds/ but not generated in crds/ (stale; delete it)"
done

# Every CRD of the reprotect.io group is there: the three kinds.
for plural in reprotectpolicies mastertargets protectedmachines; do
  if grep -lq "name: $plural.reprotect.io" "$dst"/*.yaml 2>/dev/null; then
    pass "chart ships $plural.reprotect.io"
  else
    fail "chart does not ship $plural.reprotect.io"
  fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
