#!/usr/bin/env bash
# Lint the working tree with the pre-commit hooks of .pre-commit-config.yaml.
# Fixers (whitespace, ruff, ruff-format) rewrite files and fail; run again to check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

# Tracked plus new untracked files; .gitignore keeps .venv/ and var/ out.
files=()
while IFS= read -r -d '' f; do
    if [ -e "$f" ]; then files+=("$f"); fi  # skip tracked files deleted in the work tree
done < <(git ls-files -z --cached --others --exclude-standard)

"$VENV/bin/pre-commit" run --color=never --show-diff-on-failure --files "${files[@]}"
