# Sourced by the other scripts: paths, PostgreSQL start-up and the odoo() wrapper.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-$HOME/.cache/kpulse_dunning/odoo-19.0}"
VENV="${VENV:-.venv}"
# A relative VENV is relative to the repository, whatever the caller's cwd.
case "$VENV" in /*) ;; *) VENV="$REPO_ROOT/$VENV" ;; esac
MODULE="${MODULE:-kpulse_dunning}"
DATA_DIR="$REPO_ROOT/var/data"
# Keep Odoo from writing .pyc files into its source tree and our addon.
export PYTHONDONTWRITEBYTECODE=1

say() { echo "[kpulse] $*"; }
die() { echo "[kpulse] ERROR: $*" >&2; exit 1; }

# Run a command as root: directly when we are root, otherwise through sudo.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Run a command as the postgres OS user (needed before our own role exists).
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then su postgres -c "$(printf '%q ' "$@")"; else sudo -u postgres "$@"; fi
}

ensure_postgres() {
    if ! pg_isready -q 2>/dev/null; then
        if command -v pg_lsclusters >/dev/null; then
            # Debian: start every cluster that is down (normally 15/main).
            local ver name _port status _rest
            while read -r ver name _port status _rest; do
                if [ "$status" = down ]; then
                    say "starting PostgreSQL cluster $ver/$name"
                    as_root pg_ctlcluster "$ver" "$name" start
                fi
            done < <(pg_lsclusters --no-header)
        else
            say "starting PostgreSQL service"
            as_root service postgresql start
        fi
        local i
        for i in $(seq 30); do pg_isready -q && break; sleep 1; done
        pg_isready -q || die "PostgreSQL did not come up"
    fi
    # Odoo connects over the local socket as the current OS user: that role must exist.
    if ! psql -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
        say "creating PostgreSQL superuser role $(whoami)"
        as_postgres createuser -s "$(whoami)"
    fi
}

db_exists() { psql -lqt | cut -d'|' -f1 | tr -d ' ' | grep -qx "$1"; }

# odoo_cmd [COMMAND] ARGS...: sets the array ODOO_CMD to the odoo-bin command
# line with our addons path and data dir. COMMAND (server, shell, ...) must come
# first for odoo-bin, so it is split off. run.sh starts "${ODOO_CMD[@]}" in the
# background itself, so that $! is Odoo's own pid.
# Addons installed from PyPI (requirements-addons.txt) live in the venv's
# odoo/addons folder, which Odoo run from ODOO_SRC does not look into itself.
venv_addons() {
    local site
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    if [ -d "$site/odoo/addons" ]; then printf ',%s' "$site/odoo/addons"; fi
}

odoo_cmd() {
    local cmd=server
    if [ $# -gt 0 ] && [[ $1 != -* ]]; then cmd=$1; shift; fi
    ODOO_CMD=("$VENV/bin/python" "$ODOO_SRC/odoo-bin" "$cmd"
        --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$REPO_ROOT$(venv_addons)"
        --data-dir="$DATA_DIR" "$@")
}
odoo() { odoo_cmd "$@"; "${ODOO_CMD[@]}"; }
