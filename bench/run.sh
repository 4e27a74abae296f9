#!/usr/bin/env bash
# Benchmark: a fresh database with the addon, a server for the letters' CSS,
# then bench_dunning.py in odoo shell. BENCH_N (10000), BENCH_SEND (200).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
cd "$REPO_ROOT"
ensure_postgres
DB=kpulse_bench
PORT=8369
dropdb --if-exists --force "$DB"
rm -rf "$DATA_DIR/filestore/$DB"
odoo -d "$DB" -i "$MODULE" --stop-after-init --log-level=warn
# wkhtmltopdf fetches the report CSS over HTTP: serve it while we measure.
odoo_cmd -d "$DB" --http-interface=127.0.0.1 --http-port "$PORT" --log-level=warn
"${ODOO_CMD[@]}" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 5
psql -q -d "$DB" -c "INSERT INTO ir_config_parameter (key, value) VALUES ('report.url', 'http://127.0.0.1:$PORT') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
odoo shell -d "$DB" --no-http --log-level=warn < bench/bench_dunning.py
