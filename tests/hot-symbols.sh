#!/usr/bin/env bash
# Regenerates controller/hot-symbols.txt: every function of the release controller that a scale run executes, for
# LLD's --symbol-ordering-file (controller/build.rs says why). Run it after a toolchain or dependency upgrade (the
# mangled names carry hashes of both) or a large change of the code; `make hot-symbols` runs it.
#
# How: the scale bench (3 vaults of 120 machines, a 60 s steady hold with a failover) with the controller under
# valgrind's callgrind, its counts dumped every 8 s (the bench kills the controller at the end, so no dump at exit
# would come); then every `fn=` of the controller's own object, in the order the dumps first saw them. Needs
# valgrind (callgrind_control). The names carry the controller crate's hash too: regenerate after changing its
# dependencies (controller/Cargo.toml), which changes that hash.
#
#   tests/hot-symbols.sh                 regenerate the list
#   tests/hot-symbols.sh --check BINARY  how many listed functions BINARY has (make bench-scale prints it)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--check" ]]; then
  total=$(wc -l <controller/hot-symbols.txt)
  found=$(LC_ALL=C comm -12 <(nm "$2" | awk '{print $NF}' | LC_ALL=C sort -u) <(LC_ALL=C sort -u controller/hot-symbols.txt) | wc -l)
  echo "hot-symbols: $2 has $found of the $total functions controller/hot-symbols.txt lists"
  if ((found * 10 < total * 9)); then
    echo "hot-symbols: the list is stale, so much of the code it runs is scattered again (make hot-symbols)" >&2
  fi
  exit 0
fi
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || {
  echo "hot-symbols: needs valgrind (apt-get install valgrind)" >&2
  exit 1
}
target="${CARGO_TARGET_DIR:-target}"
RUSTFLAGS="${RELEASE_RUSTFLAGS:--C link-arg=-Wl,-z,pack-relative-relocs}" \
  "${CARGO:-cargo}" build --release -p reprotect-controller --bin reprotect-controller -p reprotect-e2e --bin scale
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
controller="$work/reprotect-controller"
cp "$target/release/reprotect-controller" "$controller"
cat >"$work/callgrind-controller" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$work/cg.out.%p --demangle=no --compress-strings=no \
  --dump-line=no --dump-instr=no "$controller" "\$@" 2>>"$work/valgrind.log"
EOF
chmod +x "$work/callgrind-controller"
# Dump the counts while the controller runs (each dump holds what ran since the one before).
(
  while sleep 8; do
    for pid in $(pgrep -f "callgrind.*$controller" || true); do callgrind_control -d "$pid" >/dev/null 2>&1 || true; done
  done
) &
dumper=$!
trap 'kill "$dumper" 2>/dev/null || true; rm -rf "$work"' EXIT
REPROTECT_TOOLS_BIN="$(bash tests/tools/build.sh | tail -n1)" REPROTECT_CONTROLLER_BIN="$work/callgrind-controller" \
  CARGO_TARGET_DIR="$work" SCALE_STEADY_SECONDS=60 SCALE_SEQUENTIAL=0 "$target/release/scale" 3x120
# `ob=` names the object of the `fn=` lines that follow; keep the controller's, drop callgrind's recursion marks
# ('2) and names that are no symbol ("(below main)", bare addresses).
awk -v bin="$controller" '
  /^ob=/ { ob = substr($0, 4); sub(/^\([0-9]+\) */, "", ob); inbin = (ob == bin); next }
  /^fn=/ && inbin {
    fn = substr($0, 4); sub(/^\([0-9]+\) */, "", fn); sub(/'"'"'[0-9]+$/, "", fn)
    if (fn != "" && fn !~ /^\(|^0x/ && !seen[fn]++) print fn
  }' $(ls -v "$work"/cg.out.*) >controller/hot-symbols.txt
echo "hot-symbols: $(wc -l <controller/hot-symbols.txt) functions in controller/hot-symbols.txt"
