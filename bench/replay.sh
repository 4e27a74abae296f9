#!/usr/bin/env bash
# Issue 9's "done when" against a running `make run WORKERS=2` (same DEMO_DB
# and HTTP_PORT): REPLAY_N (2000) reminders sent through the server, as a
# billing user; prints what the user and var/mail/ see. Uses the demo
# database kpulse_demo unless DEMO_DB says otherwise: it adds REPLAY_N
# invoices and reminders to it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
cd "$REPO_ROOT"
DB="${DEMO_DB:-kpulse_demo}"
REPLAY_URL="http://127.0.0.1:${HTTP_PORT:-8069}" REPLAY_MAIL_DIR="$REPO_ROOT/var/mail" \
    odoo shell -d "$DB" --no-http --log-level=warn < bench/replay_send.py
