#!/usr/bin/env bash
# Install the addon from its wheel, as a user of the published package would,
# and check that Odoo finds it there and installs it.
#
# 1. build the wheels (scripts/dist.sh) into a temporary folder;
# 2. create a fresh virtualenv and pip install the kpulse_dunning wheel into it
#    with --no-deps (its only requirement, odoo, is not on PyPI); Odoo's own
#    requirements come from the project's venv through a .pth file, and Odoo
#    itself is run from ODOO_SRC (nothing is pip-installed from it);
# 3. odoo-bin -i kpulse_dunning on a fresh database with an addons path that
#    holds Odoo's addons only, not this repository;
# 4. assert the module is installed and was loaded from the venv's
#    site-packages/odoo/addons/kpulse_dunning.
# Ends with "N passed, M failed". Env: WHEEL_DB (kpulse_wheel).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WHEEL_DB="${WHEEL_DB:-kpulse_wheel}"
LOG="$REPO_ROOT/var/log/test_wheel.log"
mkdir -p "$REPO_ROOT/var/log"
: > "$LOG"

tmp="$(mktemp -d)"
cleanup() {
    dropdb --if-exists --force "$WHEEL_DB" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
check() {  # check NAME CONDITION...: count one test
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); say "ok: $name"
    else failed=$((failed + 1)); say "FAIL: $name"; fi
}

ensure_postgres
DIST_DIR="$tmp/dist" bash "$REPO_ROOT/scripts/dist.sh" | tee -a "$LOG"
wheels=("$tmp/dist/odoo_addon_${MODULE}-"*.whl)
[ -f "${wheels[0]}" ] || die "no wheel of $MODULE was built"

say "fresh virtualenv with the wheel of $MODULE"
"$VENV/bin/python" -m venv --without-pip "$tmp/venv"
PY="$tmp/venv/bin/python"
site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
dev_site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# Odoo's requirements (psycopg2, lxml, ...) without reinstalling them.
echo "$dev_site" > "$site/kpulse_odoo_requirements.pth"
[ ! -e "$dev_site/odoo/addons/$MODULE" ] || die "$dev_site already holds $MODULE"
"$VENV/bin/pip" --python "$PY" install --quiet --no-deps --no-index "${wheels[0]}" 2>&1 | tee -a "$LOG"

say "installing $MODULE into a fresh database $WHEEL_DB from the wheel; log: var/log/test_wheel.log"
dropdb --if-exists --force "$WHEEL_DB" 2>/dev/null
# No repository on the addons path, and not the working directory either.
odoo_args=(-d "$WHEEL_DB" --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons"
           --data-dir="$tmp/data" --no-http)
cd "$tmp"
set +e
"$PY" "$ODOO_SRC/odoo-bin" "${odoo_args[@]}" -i "$MODULE" --stop-after-init \
    --log-level=warn >> "$LOG" 2>&1
odoo_rc=$?
out="$("$PY" "$ODOO_SRC/odoo-bin" shell "${odoo_args[@]}" --log-level=warn 2>>"$LOG" <<PY
from odoo.modules.module import get_module_path
module = env["ir.module.module"].search([("name", "=", "$MODULE")])
print("state:", module.state)
print("version:", module.latest_version)
print("path:", get_module_path("$MODULE"))
PY
)"
set -e
printf '%s\n' "$out" | tee -a "$LOG"

check "odoo-bin -i $MODULE exits 0" [ "$odoo_rc" -eq 0 ]
check "no ERROR or CRITICAL in the log" \
    bash -c "! grep -qE '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' '$LOG'"
check "$MODULE is installed" grep -qx "state: installed" <<<"$out"
check "$MODULE was loaded from the wheel" \
    grep -qx "path: $site/odoo/addons/$MODULE" <<<"$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
