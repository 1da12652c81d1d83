#!/usr/bin/env bash
# SPEC §9's live-update benchmark on PostgreSQL: two replicas of the server on one scratch
# database; N idle subscriptions on replica A (its RSS before and after), then changes made
# through replica B timed until their event reaches a subscriber on A (p50, p99) — with the
# `graphql-ws` npm client, as a deal board would. Needs PostgreSQL, psql, Node.js and npm.
#
#   bash bench/live.sh
#
# Settings (environment variables, all optional):
#   BENCH_PG_URL   postgres://postgres@127.0.0.1:5432  the server to create the scratch database on
#   BENCH_BIN      use this dealgraph binary instead of building the release one
#   BENCH_IDLE     10000  idle subscriptions (one socket each) on replica A
#   BENCH_CHANGES  500    changes timed from B to A
#   BENCH_IDLE_TENANT      the idle subscriptions' tenant (default: the one the changes are made in)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
for tool in psql node npm; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release --bin dealgraph
  BENCH_BIN=target/release/dealgraph
fi
(cd bench/live && npm install --no-audit --no-fund --silent)

SCRATCH="dealgraph_live_$(date +%s)_$$"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS \"$SCRATCH\" WITH (FORCE)" || true
}
trap cleanup EXIT
psql "$PG_URL/postgres" -q -c "CREATE DATABASE \"$SCRATCH\""
export DATABASE_URL="$PG_URL/$SCRATCH"
DEALGRAPH_JWT_SECRET="bench-live-secret-$(date +%s%N)-0123456789"
export DEALGRAPH_JWT_SECRET
"$BENCH_BIN" migrate >/dev/null

start() {
  DEALGRAPH_ADDR="127.0.0.1:$1" DEALGRAPH_DEMO=false RUST_LOG=warn "$BENCH_BIN" serve >"${BENCH_LOG:-/dev/null}" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
  echo "bench: the server on port $1 did not start" >&2; exit 1
}
start 18181
start 18182
node bench/live/bench.mjs http://127.0.0.1:18181 http://127.0.0.1:18182 "${PIDS[0]}" \
  "${BENCH_IDLE:-10000}" "${BENCH_CHANGES:-500}"
