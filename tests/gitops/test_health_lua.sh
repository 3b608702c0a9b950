#!/usr/bin/env bash
# Runs deploy/argocd/health.lua (the Argo CD custom health check for the reprotect.io kinds) against
# every fixture in tests/gitops/fixtures/*.json and asserts the health status listed in
# tests/gitops/expectations.tsv (column 2). The script runs in an environment that mirrors Argo CD's
# default Lua sandbox (see run_health.lua). Interpreter: lua5.4 (installed with apt-get when missing
# and running as root); also lua5.1 when present, the dialect of Argo CD's gopher-lua.
# Last line: "N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
script="$root/deploy/argocd/health.lua"

if ! command -v lua5.4 >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "test_health_lua: installing lua5.4 with apt-get" >&2
    { apt-get install -y -qq lua5.4 || { apt-get update -qq && apt-get install -y -qq lua5.4; }; } >/dev/null 2>&1
  fi
fi
interpreters=()
for l in lua5.4 lua5.1; do command -v "$l" >/dev/null && interpreters+=("$l"); done
if ! command -v lua5.4 >/dev/null; then
  echo "test_health_lua: lua5.4 not found (apt-get install lua5.4)"
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

for lua in "${interpreters[@]}"; do
  while IFS=$'\t' read -r name want_health _want_kstatus _want_flux why; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    fixture="$here/fixtures/$name.json"
    if [[ ! -f "$fixture" ]]; then
      fail "[$lua] $name: fixture $fixture missing"
      continue
    fi
    if ! out=$("$lua" "$here/run_health.lua" "$script" "$fixture" 2>&1); then
      fail "[$lua] $name: script error: $out"
      continue
    fi
    got=${out%%$'\t'*}
    msg=${out#*$'\t'}
    if [[ "$got" == "$want_health" ]]; then
      pass "[$lua] $name: $got ($why)"
    else
      fail "[$lua] $name: want $want_health, got $got: $msg ($why)"
    fi
    if [[ -z "$msg" && "$got" != "Healthy" ]]; then
      fail "[$lua] $name: $got without a message (Argo CD would show nothing useful)"
    fi
  done <"$here/expectations.tsv"
done

# Every health status Argo CD accepts is one of these; nothing else may come out.
for lua in "${interpreters[@]}"; do
  bad=0
  for fixture in "$here"/fixtures/*.json; do
    got=$("$lua" "$here/run_health.lua" "$script" "$fixture" 2>/dev/null | cut -f1)
    case "$got" in Healthy | Progressing | Degraded | Suspended | Missing | Unknown) ;; *) bad=1 ;; esac
  done
  if [[ $bad -eq 0 ]]; then pass "[$lua] every fixture yields a valid Argo CD health status"; else fail "[$lua] a fixture yields an invalid health status"; fi
done

# Every fixture is covered by an expectation (no silently untested fixture).
for fixture in "$here"/fixtures/*.json; do
  name=$(basename "$fixture" .json)
  if grep -q "^$name"$'\t' "$here/expectations.tsv"; then :; else fail "fixture $name has no line in expectations.tsv"; fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
