#!/usr/bin/env bash
# Upgrade test: install the previous release, use it, upgrade to this code.
#
# 1. `git worktree add` OLD_REF (d250eda, release 19.0.1.0.0) into a temporary
#    folder and install kpulse_dunning from it, with French, into a fresh
#    database UPGRADE_DB (kpulse_upgrade);
# 2. odoo shell on the old code: check that the migration recognises every
#    default record as untouched (its fingerprints of the old defaults),
#    create two overdue invoices and their reminders, edit a template's
#    subject and a level's delay;
# 3. copy the current addon and make its default data differ from the old one
#    (a marker appended to the English names, subjects and one letter in
#    data/*.xml), as a release that changes its defaults does; then
#    `-u kpulse_dunning --stop-after-init` with that copy;
# 4. odoo shell on the new code: reminders kept, untouched default templates
#    and levels carry the marker, edited ones do not, French translations of
#    the untouched ones reloaded; every window action's views load (get_views).
# The log of the upgrade must hold no ERROR or CRITICAL line.
# Ends with "N passed, M failed"; log: var/log/test_upgrade.log.
#   --print-fingerprints  install the old release and print the fingerprints
#                         of its default records (OLD_DEFAULTS of the migration)
# Env: OLD_REF (d250eda), UPGRADE_DB (kpulse_upgrade), UPGRADE_HTTP_PORT (8370),
# UPGRADE_KEEP=1 keeps the database and the data folder to look into.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

OLD_REF="${OLD_REF:-d250eda}"
UPGRADE_DB="${UPGRADE_DB:-kpulse_upgrade}"
UPGRADE_HTTP_PORT="${UPGRADE_HTTP_PORT:-8370}"
LOG="$REPO_ROOT/var/log/test_upgrade.log"
MARK="[new default]"
print_fingerprints=0
if [ "${1:-}" = --print-fingerprints ]; then print_fingerprints=1; fi

version="$("$VENV/bin/python" -c "import ast, sys; print(ast.literal_eval(open(sys.argv[1]).read())['version'])" "$MODULE/__manifest__.py")"
MIGRATION="$REPO_ROOT/$MODULE/migrations/$version/post-migrate.py"
[ -f "$MIGRATION" ] || die "no migration $MIGRATION for version $version"

mkdir -p var/log
: > "$LOG"
tmp="$(mktemp -d)"
cleanup() {
    git -C "$REPO_ROOT" worktree remove --force "$tmp/old" 2>/dev/null || true
    git -C "$REPO_ROOT" worktree prune
    if [ "${UPGRADE_KEEP:-0}" = 1 ]; then
        say "kept database $UPGRADE_DB and $tmp (UPGRADE_KEEP=1)"
        return
    fi
    dropdb --if-exists --force "$UPGRADE_DB" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# run_odoo ADDONS_DIR [COMMAND] ARGS...: odoo-bin on UPGRADE_DB with the addon from ADDONS_DIR only.
run_odoo() {
    local addons=$1; shift
    local cmd=server
    if [ $# -gt 0 ] && [[ $1 != -* ]]; then cmd=$1; shift; fi
    "$VENV/bin/python" "$ODOO_SRC/odoo-bin" "$cmd" -d "$UPGRADE_DB" \
        --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$addons" \
        --data-dir="$tmp/data" --http-interface=127.0.0.1 --http-port="$UPGRADE_HTTP_PORT" "$@"
}

ensure_postgres
say "previous release: $OLD_REF in a temporary worktree"
git worktree add --detach --quiet "$tmp/old" "$OLD_REF"
old_version="$("$VENV/bin/python" -c "import ast, sys; print(ast.literal_eval(open(sys.argv[1]).read())['version'])" "$tmp/old/$MODULE/__manifest__.py")"

# --load-language on a new database makes French its only language, as for a
# French company: the users' edits then write the English value too.
say "installing $MODULE $old_version in French into a fresh database $UPGRADE_DB; log: var/log/test_upgrade.log"
dropdb --if-exists --force "$UPGRADE_DB" 2>/dev/null
run_odoo "$tmp/old" -i "$MODULE" --load-language=fr_FR --stop-after-init --log-level=warn >> "$LOG" 2>&1 \
    || { tail -n 30 "$LOG"; die "installing $OLD_REF failed"; }

if [ "$print_fingerprints" = 1 ]; then
    run_odoo "$tmp/old" shell --log-level=warn 2>>"$LOG" <<PY
import importlib.util, pprint
spec = importlib.util.spec_from_file_location("kpulse_migration", "$MIGRATION")
migration = importlib.util.module_from_spec(spec)
spec.loader.exec_module(migration)
pprint.pprint(migration.compute_fingerprints(env.cr), width=100)
PY
    exit 0
fi

say "old release: reminders and user edits (odoo shell)"
before="$(run_odoo "$tmp/old" shell --log-level=warn 2>>"$LOG" <<PY
import importlib.util
from datetime import timedelta
from odoo import Command, fields

spec = importlib.util.spec_from_file_location("kpulse_migration", "$MIGRATION")
migration = importlib.util.module_from_spec(spec)
spec.loader.exec_module(migration)
current = migration.compute_fingerprints(env.cr)
differ = sorted(x for x in set(current) | set(migration.OLD_DEFAULTS)
                if current.get(x) != migration.OLD_DEFAULTS.get(x))
print("fingerprints:", "ok" if not differ else "differ " + ", ".join(differ))

today = fields.Date.context_today(env.user)
partner = env["res.partner"].create({"name": "Upgrade Customer", "email": "upgrade@example.com"})
moves = env["account.move"]
for days, price in ((30, 100.0), (60, 250.0)):
    moves |= env["account.move"].create({
        "move_type": "out_invoice",
        "partner_id": partner.id,
        "invoice_date": today - timedelta(days=days + 30),
        "invoice_date_due": today - timedelta(days=days),
        "invoice_line_ids": [Command.create({"name": "Service", "quantity": 1, "price_unit": price})],
    })
moves.action_post()
wizard = env["kpulse.dunning.create"].with_context(
    active_model="account.move", active_ids=moves.ids
).create({"template_id": env.ref("$MODULE.kpulse_dunning_template_1").id})
wizard.grouping = "invoice"
wizard.action_create()
dunnings = env["kpulse.dunning"].search([])
print("reminders:", ",".join(sorted(dunnings.mapped("name"))))
print("reminder amount:", sum(dunnings.mapped("amount_residual")))

env.ref("$MODULE.kpulse_dunning_template_1").subject = "Our own subject {{ object.name }}"
env.ref("$MODULE.kpulse_dunning_level_2").delay_days = 25
fr = env.ref("$MODULE.kpulse_dunning_template_2").with_context(lang="fr_FR")
print("fr subject 2:", fr.subject)
env.cr.commit()
PY
)" || { tail -n 30 "$LOG"; die "using the old release in odoo shell failed"; }
printf '%s\n' "$before" | tee -a "$LOG"

say "current code with changed defaults; upgrading with -u $MODULE"
mkdir -p "$tmp/new"
cp -r "$REPO_ROOT/$MODULE" "$tmp/new/"
find "$tmp/new" -name __pycache__ -prune -exec rm -rf {} +
"$VENV/bin/python" - "$tmp/new/$MODULE/data" "$MARK" <<'PY'
import sys
from pathlib import Path

from lxml import etree

data, mark = Path(sys.argv[1]), sys.argv[2]
changes = {
    "kpulse_dunning_level_data.xml": [("kpulse_dunning_level_1", "name"),
                                      ("kpulse_dunning_level_2", "name")],
    "kpulse_dunning_template_data.xml": [("kpulse_dunning_template_1", "subject"),
                                         ("kpulse_dunning_template_2", "subject"),
                                         ("kpulse_dunning_template_3", "letter_html")],
}
for name, fields in changes.items():
    tree = etree.parse(str(data / name))
    for xmlid, field in fields:
        node = tree.find(f".//record[@id='{xmlid}']/field[@name='{field}']")
        if len(node):  # HTML: one more paragraph in the outer element
            etree.SubElement(node[0], "p").text = mark
        else:
            node.text += " " + mark
    tree.write(str(data / name), encoding="utf-8", xml_declaration=True)
PY

set +e
run_odoo "$tmp/new" -u "$MODULE" --stop-after-init --log-level=info >> "$LOG" 2>&1
upgrade_rc=$?
after="$(run_odoo "$tmp/new" shell --log-level=warn 2>>"$LOG" <<PY
def check(name, ok):
    print("check", name + ":", "ok" if ok else "FAIL")

# French is the database's only language (see above): read the English values.
env = env(context=dict(env.context, lang="en_US"))

module = env["ir.module.module"].search([("name", "=", "$MODULE")])
check("module at $version", (module.state, module.latest_version) == ("installed", "$version"))
dunnings = env["kpulse.dunning"].search([])
print("reminders:", ",".join(sorted(dunnings.mapped("name"))))
print("reminder amount:", sum(dunnings.mapped("amount_residual")))
ref = lambda name: env.ref("$MODULE." + name)
t1, t2, t3 = (ref("kpulse_dunning_template_%d" % i) for i in (1, 2, 3))
l1, l2 = ref("kpulse_dunning_level_1"), ref("kpulse_dunning_level_2")
mark = "$MARK"
check("edited template kept", t1.subject == "Our own subject {{ object.name }}")
check("untouched templates updated", t2.subject.endswith(mark) and mark in t3.letter_html)
check("edited level kept", l2.delay_days == 25 and mark not in l2.name)
check("untouched level updated", l1.name.endswith(mark))
fr = t2.with_context(lang="fr_FR").subject
print("fr subject 2:", fr)
check("French of untouched template reloaded", bool(fr) and mark not in fr)
check("defaults still noupdate", all(env["ir.model.data"].search(
    [("module", "=", "$MODULE"), ("name", "in", ["kpulse_dunning_template_2", "kpulse_dunning_level_1"])]
).mapped("noupdate")))
failed_views = []
actions = env["ir.model.data"].search(
    [("module", "=", "$MODULE"), ("model", "=", "ir.actions.act_window")])
for action in env["ir.actions.act_window"].browse(actions.mapped("res_id")):
    for view_type in action.view_mode.split(","):
        view_type = "list" if view_type == "tree" else view_type
        try:
            env[action.res_model].get_views([(False, view_type), (False, "search")])
        except Exception as exc:
            failed_views.append(f"{action.res_model} {view_type}: {exc}")
print("views failing:", failed_views or "none")
check("views of %d actions load" % len(actions), actions and not failed_views)
PY
)"
set -e
printf '%s\n' "$after" | tee -a "$LOG"
grep -E "default records brought to the new defaults" "$LOG" | sed 's/^.*INFO [^ ]* //' || true

passed=0 failed=0
count() { if [ "$2" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); say "FAIL: $1"; fi; }
count "old defaults recognised" "$(grep -qx "fingerprints: ok" <<<"$before" && echo ok)"
count "-u exits 0" "$([ "$upgrade_rc" -eq 0 ] && echo ok)"
errors="$(grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$LOG" || true)"
[ -z "$errors" ] || printf '%s\n' "$errors" | head -n 20
count "no ERROR or CRITICAL in the log" "$([ -z "$errors" ] && echo ok)"
count "reminders kept" "$([ "$(grep '^reminder' <<<"$before")" = "$(grep '^reminder' <<<"$after")" ] \
    && grep -q '^reminders: .' <<<"$after" && echo ok)"
count "French of edited template kept" "$([ "$(grep '^fr subject' <<<"$before")" = "$(grep '^fr subject' <<<"$after")" ] && echo ok)"
while read -r line; do
    name="${line#check }"; name="${name%:*}"
    count "$name" "${line##*: }"
done < <(grep '^check ' <<<"$after")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
