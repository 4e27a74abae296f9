#!/usr/bin/env bash
# The test command: install the addon with its tests into a fresh database,
# summarise Odoo's log, then lint. Ends with one line "N passed, M failed".
# Env: TEST_DB (kpulse_test), TEST_TAGS (/kpulse_dunning), TEST_HTTP_PORT (8169),
# TEST_WHEEL (1: also install the addon from its wheel, scripts/test_wheel.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TEST_DB="${TEST_DB:-kpulse_test}"
# The addon and its glue addons (kpulse_dunning_queue_job, kpulse_dunning_sms)
# are tested together.
MODULES="${MODULES:-$MODULE,${MODULE}_queue_job,${MODULE}_sms}"
# Odoo's own invoice-sending tests run too: the addon stores invoice PDFs as
# Odoo's Send does, and must not change what Send does.
ODOO_SEND_TESTS="/account:TestAccountMoveSend,/account:TestAccountComposerPerformance"
TEST_TAGS="${TEST_TAGS:-/$MODULE,/${MODULE}_queue_job,/${MODULE}_sms,$ODOO_SEND_TESTS}"
# Not 8069: a dev server from `make run` may hold that port.
TEST_HTTP_PORT="${TEST_HTTP_PORT:-8169}"
LOG="$REPO_ROOT/var/log/test.log"

# Odoo's closing line (odoo/tests/result.py + odoo/service/server.py), e.g.
# "... INFO kpulse_test odoo.tests.result: 0 failed, 0 error(s) of 57 tests when loading database 'kpulse_test'"
SUMMARY_RE='odoo\.tests\.result: ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests when loading database'
# Log lines are "DATE TIME PID LEVEL DB LOGGER: message".
LOG_ERROR_RE='^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) '
# Failing tests log ERROR under their own module (...tests.test_x) and are already counted.
TEST_LOGGER_RE=' (ERROR|CRITICAL) [^ ]+ ([^ ]*\.)?tests(\.[^ ]*)?: '

# summarize LOG: sets total, passed, bad (failed + errors) and log_errors.
summarize() {
    local line
    total=0 failed=0 errors=0
    line="$(grep -E "$SUMMARY_RE" "$1" | tail -n 1 || true)"
    if [[ $line =~ $SUMMARY_RE ]]; then
        failed=${BASH_REMATCH[1]} errors=${BASH_REMATCH[2]} total=${BASH_REMATCH[3]}
    fi
    passed=$((total - failed - errors))
    [ "$passed" -ge 0 ] || passed=0  # class-level errors are not counted in "tests"
    bad=$((failed + errors))
    # ERROR/CRITICAL outside the tests (an install or load error) fail the run too.
    log_errors="$(grep -E "$LOG_ERROR_RE" "$1" | grep -vE "$TEST_LOGGER_RE" || true)"
    if [ -n "$log_errors" ]; then bad=$((bad + 1)); fi
}

# Uninstall the addon from the test database; succeed when its tables are gone.
uninstall_check() {
    odoo shell -d "$TEST_DB" --no-http --log-level=warn <<PY 2>&1 | tee -a "$LOG" | grep -q "^uninstall: ok$"
env["ir.module.module"].search([("name", "=", "$MODULE")]).button_immediate_uninstall()
env.cr.execute("SELECT to_regclass('kpulse_dunning'), to_regclass('kpulse_dunning_level')")
print("uninstall: ok" if env.cr.fetchone() == (None, None) else "uninstall: tables left")
PY
}

main() {
    cd "$REPO_ROOT"
    mkdir -p var/log
    ensure_postgres

    say "fresh database $TEST_DB (Odoo creates it; no demo data)"
    dropdb --if-exists --force "$TEST_DB"
    rm -rf "$DATA_DIR/filestore/$TEST_DB"

    say "installing $MODULE with tests $TEST_TAGS; log: var/log/test.log"
    local odoo_rc lint_rc status=0
    set +e
    odoo -d "$TEST_DB" -i "$MODULES" --test-enable --test-tags "$TEST_TAGS" \
        --stop-after-init --http-interface=127.0.0.1 --http-port "$TEST_HTTP_PORT" \
        --log-level=test 2>&1 | tee "$LOG"
    odoo_rc=${PIPESTATUS[0]}
    set -e
    summarize "$LOG"

    # Uninstalling must work too: it is counted as one more test.
    say "uninstalling $MODULE"
    local wheel_template=""
    if uninstall_check; then
        passed=$((passed + 1)); total=$((total + 1))
        wheel_template="$TEST_DB"
    else
        say "FAIL: uninstalling $MODULE"; bad=$((bad + 1))
    fi

    # So must installing it from its wheel (scripts/test_wheel.sh), into a copy
    # of this database now without the addon: one more test. TEST_WHEEL=0 skips.
    if [ "${TEST_WHEEL:-1}" = 1 ]; then
        say "installing $MODULE from its wheel in a fresh virtualenv"
        if WHEEL_TEMPLATE_DB="$wheel_template" WHEEL_DB="${TEST_DB}_wheel" \
            bash "$REPO_ROOT/scripts/test_wheel.sh" 2>&1 | sed -E '/^[0-9]+ passed, [0-9]+ failed$/d'; then
            passed=$((passed + 1)); total=$((total + 1))
        else
            say "FAIL: installing $MODULE from its wheel (var/log/test_wheel.log)"; bad=$((bad + 1))
        fi
    fi

    say "lint"
    bash "$REPO_ROOT/scripts/lint.sh" && lint_rc=0 || lint_rc=$?

    if [ -n "$log_errors" ]; then
        say "FAIL: ERROR/CRITICAL log lines outside the tests:"
        printf '%s\n' "$log_errors" | head -n 20
        status=1
    fi
    if [ "$odoo_rc" -ne 0 ]; then say "FAIL: odoo exited with status $odoo_rc"; status=1; fi
    if [ "$total" -eq 0 ]; then say "FAIL: no test ran"; status=1; fi
    if [ "$bad" -gt 0 ]; then status=1; fi
    if [ "$lint_rc" -ne 0 ]; then say "FAIL: lint (exit $lint_rc)"; status=1; fi
    echo "$passed passed, $bad failed"
    return "$status"
}

# Run only when executed, so the parser can be sourced and tried on a sample log.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
