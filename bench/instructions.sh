#!/usr/bin/env bash
# Instructions per proxied request on the server's main thread, counted by valgrind's callgrind:
# repeatable on a noisy machine where RPS is not (user space only; the kernel's share is not counted).
#   bench/instructions.sh NAME URL [N] -- ENV=value... node server.js
# Warms up with WARM requests (default 20000), then counts N (default 10000) at 50 connections.
# KEEP=1 keeps the callgrind files for callgrind_annotate.
# Example (nginx upstream of run.sh on :19001):
#   bench/instructions.sh plugins http://127.0.0.1:19073/bench/hello -- PLUGINS=correlation-id,request-transformer \
#     PERF_UPSTREAM_URL=http://127.0.0.1:19001 PORT=19073 node bench/dp-server.js
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="$1"; url="$2"; shift 2
n=10000
if [[ "${1:-}" != "--" ]]; then n="$1"; shift; fi
[[ "${1:-}" == "--" ]] || { echo "usage: $0 NAME URL [N] -- [ENV=value...] command..." >&2; exit 2; }
shift
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install valgrind" >&2; exit 1; }
envs=(); while [[ "${1:-}" == *=* ]]; do envs+=("$1"); shift; done
out="$(mktemp -d)"
if [[ -n "${KEEP:-}" ]]; then
  trap 'kill -INT "$vp" 2>/dev/null || true; echo "callgrind files kept in $out (thread 1: cg.*.1-01)" >&2' EXIT
else
  trap 'kill -INT "$vp" 2>/dev/null || true; rm -rf "$out"' EXIT
fi
env "${envs[@]}" taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file \
  --separate-threads=yes --callgrind-out-file="$out/cg.%p" "$@" >"$out/server.log" 2>&1 &
vp=$!
for _ in $(seq 300); do curl -sf -o /dev/null "$url" && break; sleep 1; done
load() { taskset -c 1 node "$HERE/lib/fixed-load.cjs" "$url" "$1" 50; }
load "${WARM:-20000}"
callgrind_control -i on "$vp" >/dev/null 2>&1
load "$n"
callgrind_control -i off "$vp" >/dev/null 2>&1
callgrind_control -d "$vp" >/dev/null 2>&1
kill -INT "$vp"; wait "$vp" 2>/dev/null || true
# thread 1 is the event loop; the others compile and collect in the background
main=$(cat "$out"/cg.*-01 | awk '/^(summary|totals):/ { s += $2 } END { print s + 0 }')
all=$(cat "$out"/cg.* | awk '/^(summary|totals):/ { s += $2 } END { print s + 0 }')
echo "$name: $((main / n)) instructions per request on the main thread ($((all / n)) with background threads)"
