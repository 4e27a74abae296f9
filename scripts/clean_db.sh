#!/usr/bin/env bash
# Drop the demo and test databases and their filestores (next run/test rebuilds them).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_postgres
for db in "${DEMO_DB:-kpulse_demo}" "${TEST_DB:-kpulse_test}"; do
    say "dropping database $db"
    dropdb --if-exists --force "$db"
    rm -rf "$DATA_DIR/filestore/$db"
done
