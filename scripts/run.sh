#!/usr/bin/env bash
# Dev server: demo database kpulse_demo (admin/admin) on http://127.0.0.1:8069,
# outgoing mail caught by a local SMTP sink into var/mail/*.eml.
# WORKERS=N (make run WORKERS=2): production mode, N HTTP workers with Odoo's
# default request limits, CRON_WORKERS cron workers (2) and the gevent worker
# for the live notifications on GEVENT_PORT (8072).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

DB="${DEMO_DB:-kpulse_demo}"
HTTP_PORT="${HTTP_PORT:-8069}"
SMTP_PORT="${SMTP_PORT:-2525}"
WORKERS="${WORKERS:-0}"
mode=()
if [ "$WORKERS" -gt 0 ]; then
    mode=(--workers="$WORKERS" --max-cron-threads="${CRON_WORKERS:-2}"
          --gevent-port="${GEVENT_PORT:-8072}")
fi
mkdir -p var/mail var/log
ensure_postgres

if ! db_exists "$DB"; then
    # Odoo 19 loads demo data only with --with-demo (no demo is the default).
    say "creating database $DB with $MODULE and demo data"
    odoo -d "$DB" -i "$MODULE" --with-demo --stop-after-init
    # base data already sets admin/admin; set it explicitly so the login is certain.
    say "setting the admin password to 'admin'"
    echo "env.ref('base.user_admin').password = 'admin'; env.cr.commit()" \
        | odoo shell -d "$DB" --no-http --log-level=warn
fi

pids=()
cleanup() {
    trap - INT TERM EXIT
    [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # exit runs the EXIT trap, which stops the children

"$VENV/bin/python" scripts/smtp_sink.py --host 127.0.0.1 --port "$SMTP_PORT" --dir var/mail &
pids+=($!)

say "serving $DB on http://127.0.0.1:$HTTP_PORT (login admin / admin; workers: $WORKERS); Ctrl-C stops"
odoo_cmd -d "$DB" --db-filter="^$DB\$" --http-interface=127.0.0.1 --http-port="$HTTP_PORT" \
    --smtp=127.0.0.1 --smtp-port="$SMTP_PORT" "${mode[@]}"
"${ODOO_CMD[@]}" &
pids+=($!)

# Stop when either child exits (e.g. port already in use) or on a signal.
wait -n
