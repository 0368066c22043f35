#!/usr/bin/env bash
# Runs the benchmark matrix (see bench/README.md). All arguments go to
# bench/cmd/benchrun, e.g.:
#   bench/run.sh -mode smoke
#   bench/run.sh                      # full matrix, pinned, 3 repetitions
#   bench/run.sh -variant 2core
#   bench/run.sh -go-server "node --expose-gc bench/node/server.mjs"   # harness self-test
set -euo pipefail
cd "$(dirname "$0")/.."

# 10k+ sockets per process on each side; benchrun raises it again itself,
# this covers the go build and npm steps too. Root can lift the hard limit.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ ! -d bench/node/node_modules/socket.io ]; then
  (cd bench/node && npm ci --no-audit --no-fund)
fi

bindir="$(mktemp -d)"
trap 'rm -rf "$bindir"' EXIT
go build -o "$bindir/benchrun" ./bench/cmd/benchrun
# The exact invocation, shell-quoted, for the docs.
BENCH_CMD="bench/run.sh"
q="'\\''"
for a in "$@"; do
  if [[ "$a" =~ ^[A-Za-z0-9_./,:=@+-]+$ ]]; then BENCH_CMD+=" $a"; else BENCH_CMD+=" '${a//\'/$q}'"; fi
done
export BENCH_CMD
"$bindir/benchrun" "$@"
