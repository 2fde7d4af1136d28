#!/usr/bin/env bash
# The test suite on a fresh machine: environment, lint, then pytest (slow end-to-end
# tests included).   bash tools/run_tests.sh [pytest args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup_env.sh
venv="${MMACTION_EXT_VENV:-$root/.venv}"
"$venv/bin/ruff" check .
"$venv/bin/python" -m pytest "$@"
