#!/usr/bin/env bash
# Build one wheel per addon folder of the repository (a folder with a
# __manifest__.py and a pyproject.toml) into dist/, with the whool backend;
# or only the addons named as arguments. whool packages the files under git
# control (an addon not yet added to git is skipped), names the wheel
# odoo-addon-<addon> and takes its version and dependencies from the manifest.
# Env: DIST_DIR (dist/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

DIST_DIR="${DIST_DIR:-$REPO_ROOT/dist}"
mkdir -p "$DIST_DIR"

# whool comes with requirements-dev.txt: build without downloading anything.
# Without it in the venv, pip builds in an isolated environment and fetches
# whool from PyPI.
isolation=(--no-build-isolation)
if ! "$VENV/bin/python" -c "import whool" 2>/dev/null; then
    say "whool is not in $VENV (make setup installs it): pip will fetch it"
    isolation=()
fi

addons=()
if [ $# -gt 0 ]; then
    addons=("$@")
else
    for pyproject in */pyproject.toml; do
        addon="${pyproject%/pyproject.toml}"
        if [ -f "$addon/__manifest__.py" ]; then addons+=("$addon"); fi
    done
fi
[ ${#addons[@]} -gt 0 ] || die "no addon folder with a pyproject.toml in $REPO_ROOT"

for addon in "${addons[@]}"; do
    [ -f "$addon/pyproject.toml" ] || die "$addon has no pyproject.toml"
    if ! git ls-files --error-unmatch "$addon/__manifest__.py" "$addon/pyproject.toml" >/dev/null 2>&1; then
        say "skipping $addon: not added to git yet, and whool packages git files only"
        continue
    fi
    say "building the wheel of $addon into $DIST_DIR"
    rm -f "$DIST_DIR/odoo_addon_${addon}-"*.whl
    "$VENV/bin/pip" wheel --quiet --no-deps "${isolation[@]}" \
        --wheel-dir "$DIST_DIR" "./$addon"
done
ls -1 "$DIST_DIR"/*.whl 2>/dev/null || true
