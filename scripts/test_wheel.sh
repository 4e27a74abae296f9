#!/usr/bin/env bash
# Install the addon from its wheel, as a user of the published package would,
# and check that Odoo finds it there and installs it.
#
# 1. build the wheels of the repository's addons (scripts/dist.sh) into a
#    temporary folder;
# 2. create a fresh virtualenv and pip install them into it with --no-deps
#    (they require odoo, which is not on PyPI); Odoo's own requirements and
#    the OCA addons of requirements-addons.txt come from the project's venv
#    through a .pth file, and Odoo itself is run from ODOO_SRC (nothing is
#    pip-installed from it);
# 3. odoo-bin -i kpulse_dunning on a fresh database with an addons path that
#    holds Odoo's addons only, not this repository;
# 4. assert the module is installed and was loaded from the venv's
#    site-packages/odoo/addons/kpulse_dunning, and so for every other addon of
#    ours that got installed with it (kpulse_dunning_queue_job installs itself
#    where queue_job is installed, kpulse_dunning_sms where sms is).
# Ends with "N passed, M failed". Env: WHEEL_DB (kpulse_wheel);
# WHEEL_TEMPLATE_DB: start from a copy of this database (and its filestore)
# instead of an empty one, so that only the addon is installed; the addon must
# not be installed there (scripts/test.sh passes its test database after
# uninstalling the addon).
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
wheels=("$tmp/dist/"*.whl)
module_wheels=("$tmp/dist/odoo_addon_${MODULE}-"*.whl)
[ -f "${module_wheels[0]}" ] || die "no wheel of $MODULE was built"

say "fresh virtualenv with the wheels"
"$VENV/bin/python" -m venv --without-pip "$tmp/venv"
PY="$tmp/venv/bin/python"
site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
dev_site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# Odoo's requirements (psycopg2, lxml, ...) without reinstalling them.
echo "$dev_site" > "$site/kpulse_odoo_requirements.pth"
[ ! -e "$dev_site/odoo/addons/$MODULE" ] || die "$dev_site already holds $MODULE"
"$VENV/bin/pip" --python "$PY" install --quiet --no-deps --no-index "${wheels[@]}" 2>&1 | tee -a "$LOG"

dropdb --if-exists --force "$WHEEL_DB" 2>/dev/null
if [ -n "${WHEEL_TEMPLATE_DB:-}" ]; then
    state="$(psql -d "$WHEEL_TEMPLATE_DB" -Atc "SELECT state FROM ir_module_module WHERE name = '$MODULE'")"
    [ "$state" != installed ] || die "$MODULE is installed in $WHEEL_TEMPLATE_DB"
    say "installing $MODULE from the wheel into $WHEEL_DB, a copy of $WHEEL_TEMPLATE_DB; log: var/log/test_wheel.log"
    createdb -T "$WHEEL_TEMPLATE_DB" "$WHEEL_DB"
    mkdir -p "$tmp/data/filestore"
    if [ -d "$DATA_DIR/filestore/$WHEEL_TEMPLATE_DB" ]; then
        cp -r "$DATA_DIR/filestore/$WHEEL_TEMPLATE_DB" "$tmp/data/filestore/$WHEEL_DB"
    fi
else
    say "installing $MODULE from the wheel into a fresh database $WHEEL_DB; log: var/log/test_wheel.log"
fi
# No repository on the addons path, and not the working directory either.
odoo_args=(-d "$WHEEL_DB" --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons"
           --data-dir="$tmp/data" --no-http)
cd "$tmp"
set +e
"$PY" "$ODOO_SRC/odoo-bin" "${odoo_args[@]}" -i "$MODULE" --stop-after-init \
    --log-level=warn >> "$LOG" 2>&1
odoo_rc=$?
out="$("$PY" "$ODOO_SRC/odoo-bin" shell "${odoo_args[@]}" --log-level=warn 2>>"$LOG" <<PY
import os
from odoo.modules.module import get_module_path
module = env["ir.module.module"].search([("name", "=", "$MODULE")])
print("state:", module.state)
print("version:", module.latest_version)
print("path:", get_module_path("$MODULE"))
ours = os.listdir("$site/odoo/addons")
for other in env["ir.module.module"].search([("name", "in", ours), ("state", "=", "installed")]):
    print("installed:", other.name, get_module_path(other.name))
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
all_from_wheels() {
    local name path
    while read -r _ name path; do
        [ "$path" = "$site/odoo/addons/$name" ] || return 1
    done < <(grep '^installed: ' <<<"$out")
}
check "every addon of ours installed was loaded from its wheel" all_from_wheels
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
