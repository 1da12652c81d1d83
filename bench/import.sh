#!/usr/bin/env bash
# SPEC §7's import benchmark on PostgreSQL: writes the bench data set as an NDJSON record
# stream (`dealgraph generate --ndjson`: 18,000 deals, ≈ 1.8 M interactions, with stage,
# close-date and amount histories and closed deals), imports it into a scratch database with
# `dealgraph import` (history settled, every deal re-assessed and its risk history backfilled)
# and reports the wall time and the importer's peak RSS; then imports the same stream again
# and checks that nothing changed (row counts, deal versions and risk history). Needs
# PostgreSQL, psql, GNU time (/usr/bin/time) and a Rust toolchain.
#
#   bash bench/import.sh
#
# Settings (environment variables, all optional):
#   BENCH_PG_URL    postgres://postgres@127.0.0.1:5432  the server to create the scratch database on
#   BENCH_GENERATE  extra flags for `dealgraph generate` (e.g. "--deals 2000 --other-tenants 1")
#   BENCH_STREAM    use this NDJSON file instead of generating one
#   BENCH_BIN       use this dealgraph binary instead of building the release one
#   BENCH_KEEP_DB   1 keeps the scratch database afterwards (default: it is dropped)
#   BENCH_OUT       target/bench  import.md (the summary), import-*.json (the importer's summaries)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
OUT=${BENCH_OUT:-target/bench}
mkdir -p "$OUT"
log() { echo "== $*" >&2; }
for tool in psql cargo /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

SCRATCH="dealgraph_import_$(date +%s)_$$"
STREAM_DIR=$(mktemp -d)
cleanup() {
  rm -rf "$STREAM_DIR"
  if [ "${BENCH_KEEP_DB:-0}" != 1 ]; then
    psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS \"$SCRATCH\" WITH (FORCE)" || true
  fi
}
trap cleanup EXIT

BIN=${BENCH_BIN:-}
if [ -z "$BIN" ]; then
  log "building the release binary"
  cargo build --release --locked --bin dealgraph
  BIN=target/release/dealgraph
fi

STREAM=${BENCH_STREAM:-}
if [ -z "$STREAM" ]; then
  STREAM="$STREAM_DIR/bench.ndjson"
  log "writing the record stream"
  # shellcheck disable=SC2086
  "$BIN" generate --ndjson "$STREAM" --no-progress ${BENCH_GENERATE:-}
fi
lines=$(wc -l <"$STREAM")
bytes=$(stat -c %s "$STREAM")
log "stream: $lines records, $bytes bytes"

psql "$PG_URL/postgres" -q -c "CREATE DATABASE \"$SCRATCH\""
export DATABASE_URL="$PG_URL/$SCRATCH"
"$BIN" migrate

# What the database holds: row counts per table, the sum of deal versions, and the risk history.
state() {
  psql "$DATABASE_URL" -At -c "
    SELECT 'accounts', count(*) FROM accounts UNION ALL
    SELECT 'contacts', count(*) FROM contacts UNION ALL
    SELECT 'opportunities', count(*) FROM opportunities UNION ALL
    SELECT 'deal versions', coalesce(sum(version), 0) FROM opportunities UNION ALL
    SELECT 'stage_changes', count(*) FROM stage_changes UNION ALL
    SELECT 'close_date_changes', count(*) FROM close_date_changes UNION ALL
    SELECT 'amount_changes', count(*) FROM amount_changes UNION ALL
    SELECT 'buying_group_members', count(*) FROM buying_group_members UNION ALL
    SELECT 'interactions', count(*) FROM interactions UNION ALL
    SELECT 'interaction_members', count(*) FROM interaction_members UNION ALL
    SELECT 'risk_history', count(*) FROM risk_history UNION ALL
    SELECT 'risk_history checksum', coalesce(sum((score * extract(epoch FROM assessed_at)::bigint) % 1000003), 0) FROM risk_history"
}

run_import() { # name
  /usr/bin/time -f "%e %M" -o "$OUT/import-$1.time" \
    "$BIN" import --tenant bench --no-progress "$STREAM" >"$OUT/import-$1.json"
  read -r secs kib <"$OUT/import-$1.time"
  echo "$secs $((kib / 1024))"
}

log "importing (first time)"
read -r first_secs first_mib < <(run_import first)
state >"$OUT/import-state-first.txt"
log "importing the same stream again"
read -r again_secs again_mib < <(run_import again)
state >"$OUT/import-state-again.txt"
if diff -u "$OUT/import-state-first.txt" "$OUT/import-state-again.txt" >&2; then
  unchanged="yes (row counts, deal versions and risk history identical)"
else
  unchanged="NO — see the diff above"
fi

{
  echo "# Import benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
  echo
  echo "Stream: $lines records, $((bytes / 1024 / 1024)) MiB. Command: \`bash bench/import.sh\`."
  echo
  echo "| run | wall time | peak RSS |"
  echo "|---|---|---|"
  echo "| first import (insert, settle histories, re-assess, backfill) | ${first_secs} s | ${first_mib} MiB |"
  echo "| same stream again | ${again_secs} s | ${again_mib} MiB |"
  echo
  echo "Re-import changed nothing: $unchanged."
  echo
  echo "Rows after the first import:"
  echo
  sed 's/|/: /' "$OUT/import-state-first.txt" | sed 's/^/- /'
} | tee "$OUT/import.md"
