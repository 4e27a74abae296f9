#!/usr/bin/env bash
# Run the addons' tests with pytest-odoo instead of Odoo's own runner.
# pytest-odoo installs nothing, so a fresh database PYTEST_DB (kpulse_pytest)
# first gets the addons installed without their tests: every addon folder of
# the repository, as make test does (PYTEST_MODULES, comma-separated, to
# choose). pytest then runs every test of their tests/ folders against it,
# browser tours included
# (--odoo-http). pytest-odoo serves Odoo on a random port; a small plugin
# written below pins it to PYTEST_HTTP_PORT, the port of the database's
# web.base.url, where wkhtmltopdf fetches the letters' CSS.
# Each test rolls back, so the database can be reused: PYTEST_REUSE_DB=1
# skips the install when the database exists. Extra arguments go to pytest
# (e.g. -k preview). Log: var/log/pytest.log.
# Env: PYTEST_DB (kpulse_pytest), PYTEST_HTTP_PORT (8369), PYTEST_LOG_LEVEL (warn).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

PYTEST_DB="${PYTEST_DB:-kpulse_pytest}"
PYTEST_HTTP_PORT="${PYTEST_HTTP_PORT:-8369}"
PYTEST_LOG_LEVEL="${PYTEST_LOG_LEVEL:-warn}"
LOG="$REPO_ROOT/var/log/pytest.log"
mkdir -p var/log
ensure_postgres

if [ -z "${PYTEST_MODULES:-}" ]; then
    manifests=(*/__manifest__.py)
    modules=("${manifests[@]%/__manifest__.py}")
    PYTEST_MODULES="$(IFS=,; echo "${modules[*]}")"
fi
IFS=, read -ra modules <<< "$PYTEST_MODULES"
test_dirs=()
for module in "${modules[@]}"; do
    if [ -d "$module/tests" ]; then test_dirs+=("$module/tests"); fi
done

if [ "${PYTEST_REUSE_DB:-0}" = 1 ] && db_exists "$PYTEST_DB"; then
    say "reusing database $PYTEST_DB"
    : > "$LOG"
else
    say "fresh database $PYTEST_DB with $PYTEST_MODULES installed (no tests); log: var/log/pytest.log"
    dropdb --if-exists --force "$PYTEST_DB" 2>/dev/null
    rm -rf "$DATA_DIR/filestore/$PYTEST_DB"
    odoo -d "$PYTEST_DB" -i "$PYTEST_MODULES" --stop-after-init --log-level=warn \
        --http-interface=127.0.0.1 --http-port="$PYTEST_HTTP_PORT" > "$LOG" 2>&1 \
        || { tail -n 30 "$LOG"; die "installing $PYTEST_MODULES into $PYTEST_DB failed"; }
fi

plugin_dir="$(mktemp -d)"
trap 'rm -rf "$plugin_dir"' EXIT
cat > "$plugin_dir/kpulse_pytest_port.py" <<'PY'
"""Serve Odoo on PYTEST_HTTP_PORT instead of pytest-odoo's random port."""

import os

import pytest_odoo

pytest_odoo._get_available_random_port = lambda: int(os.environ["PYTEST_HTTP_PORT"])
PY

# pytest-odoo imports odoo: Odoo's source goes on PYTHONPATH; the addon's
# parent folder (the repository) must be on the addons path.
say "pytest ${test_dirs[*]} on $PYTEST_DB, HTTP on 127.0.0.1:$PYTEST_HTTP_PORT"
set +e
PYTEST_HTTP_PORT="$PYTEST_HTTP_PORT" \
PYTHONPATH="$ODOO_SRC:$plugin_dir${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -m pytest \
    -p no:cacheprovider -p kpulse_pytest_port --rootdir="$REPO_ROOT" \
    --odoo-database="$PYTEST_DB" \
    --odoo-addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$REPO_ROOT" \
    --odoo-extra="data-dir=$DATA_DIR" \
    --odoo-extra="http-interface=127.0.0.1" \
    --odoo-http \
    --odoo-log-level="$PYTEST_LOG_LEVEL" -s \
    "${test_dirs[@]}" "$@" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
set -e
exit "$rc"
