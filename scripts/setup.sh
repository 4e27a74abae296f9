#!/usr/bin/env bash
# Idempotent setup: Debian packages, Odoo 19.0 source, venv, lint hooks, PostgreSQL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

# 1. Debian packages. PDF reports need wkhtmltopdf, browser tours chromium,
#    the pip build of psycopg2/python-ldap the -dev packages.
PACKAGES=(postgresql wkhtmltopdf fonts-dejavu-core chromium poppler-utils libpq-dev libldap2-dev
          libsasl2-dev build-essential python3-dev python3-venv git)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
    say "Debian packages: all present"
fi

# 2. Odoo source: never part of this repository, cloned next to it on demand.
if [ ! -f "$ODOO_SRC/odoo-bin" ]; then
    say "cloning Odoo 19.0 into $ODOO_SRC"
    mkdir -p "$(dirname "$ODOO_SRC")"
    # Abort a stalled transfer instead of hanging CI.
    if ! GIT_HTTP_LOW_SPEED_LIMIT=1000 GIT_HTTP_LOW_SPEED_TIME=60 \
        git clone --depth 1 --branch 19.0 https://github.com/odoo/odoo.git "$ODOO_SRC"; then
        die "Odoo 19.0 source not found at $ODOO_SRC; set ODOO_SRC to an Odoo 19.0 checkout or make github.com reachable so setup can clone it"
    fi
else
    say "Odoo source: $ODOO_SRC"
fi
grep -q "^version_info = (19, 0" "$ODOO_SRC/odoo/release.py" \
    || say "WARNING: $ODOO_SRC does not look like Odoo 19.0"

# 3. Python venv. The stamp skips pip when neither requirements file changed.
if [ ! -x "$VENV/bin/python" ]; then
    say "creating venv $VENV"
    python3 -m venv "$VENV"
fi
stamp="$VENV/.kpulse-stamp"
want="$(cat "$ODOO_SRC/requirements.txt" requirements-dev.txt requirements-addons.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "venv $VENV: up to date"
else
    say "pip installing Odoo requirements and requirements-dev.txt into $VENV"
    "$VENV/bin/pip" install -r "$ODOO_SRC/requirements.txt" -r requirements-dev.txt
    # OCA addons require the `odoo` distribution, which ODOO_SRC is not.
    "$VENV/bin/pip" install --no-deps -r requirements-addons.txt
    echo "$want" > "$stamp"
fi

# 4. Lint tools: pre-commit builds its hook environments from PyPI once
#    (cached in ~/.cache/pre-commit), so `make lint` later needs no network.
if git rev-parse --git-dir >/dev/null 2>&1; then
    say "installing pre-commit hook environments"
    "$VENV/bin/pre-commit" install-hooks
fi

# 5. PostgreSQL running, with a role for the current user.
ensure_postgres
mkdir -p var/data var/log var/mail
say "setup done"
