#!/usr/bin/env bash
# Benchmark: a fresh database with the addon, a server in production mode
# (--workers=2 and two cron workers, Odoo's default limits; it also serves
# the letters' CSS), then bench_dunning.py in odoo shell. BENCH_N (10000),
# BENCH_PRINT (200), BENCH_TWO_WORKERS (1000). Only the engine's crons are
# active: the cron workers send what the benchmark queues.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
cd "$REPO_ROOT"
ensure_postgres
DB=kpulse_bench
PORT=8479
# BENCH_REUSE=1 keeps the database and its invoices (after a first run).
if [ "${BENCH_REUSE:-0}" = 1 ] && db_exists "$DB"; then
    odoo -d "$DB" -u "$MODULE" --stop-after-init --log-level=warn
else
    dropdb --if-exists --force "$DB"
    rm -rf "$DATA_DIR/filestore/$DB"
    odoo -d "$DB" -i "$MODULE" --stop-after-init --log-level=warn
fi
# Only the engine's queue crons run in the server: the mail queue and the
# other scheduled actions would compete with what is measured.
psql -q -d "$DB" -c "UPDATE ir_cron SET active = (id IN (
    SELECT res_id FROM ir_model_data WHERE model = 'ir.cron'
       AND module = '$MODULE' AND name LIKE 'ir_cron_kpulse_dunning_queue%'))"
# wkhtmltopdf fetches the report CSS over HTTP: serve it while we measure.
# With BENCH_REUSE, the wizards of earlier runs are removed first, as Odoo's
# autovacuum (off above) removes old transient records: each run leaves one
# with 10,000 invoice links, which made the next wizards slower to save.
# The admin sends: an e-mail address is his sender (Send refuses without one).
echo "env.ref('base.user_admin').password = 'admin'
env.ref('base.user_admin').email = 'admin@bench.example.com'
env['kpulse.dunning.create']._transient_clean_rows_older_than(300)
env.cr.commit()" | odoo shell -d "$DB" --no-http --log-level=warn
psql -q -d "$DB" -c "VACUUM ANALYZE account_move_kpulse_dunning_create_rel"
odoo_cmd -d "$DB" --http-interface=127.0.0.1 --http-port "$PORT" --log-level=warn \
    --workers=2 --max-cron-threads=2 --gevent-port=8372
"${ODOO_CMD[@]}" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 5
psql -q -d "$DB" -c "INSERT INTO ir_config_parameter (key, value) VALUES ('report.url', 'http://127.0.0.1:$PORT') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
BENCH_URL="http://127.0.0.1:$PORT" odoo shell -d "$DB" --no-http --log-level=warn \
    < bench/bench_dunning.py
