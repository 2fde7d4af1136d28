#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install mmaction_ext into it.
#
#   bash tools/setup_env.sh            # -> .venv (override with MMACTION_EXT_VENV=/path)
#
# Versions come from requirements/pins.txt alone. Lines tagged [no-deps] are installed
# without their declared dependencies (their real needs are listed in the same file);
# lines tagged [cpu-only] are skipped when the interpreter already has a CUDA torch, so a
# GPU machine keeps its stock packages untouched. The environment is reused as long as
# pins.txt and setup.py are unchanged (a stamp file records their hash).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MMACTION_EXT_VENV:-$root/.venv}"
pins="$root/requirements/pins.txt"
stamp="$venv/.mmaction_ext_stamp"
want="$(cat "$pins" "$root/setup.py" | sha256sum | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi

python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup_env] creating $venv" >&2
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check -q)

has_cuda_torch="$("$py" - <<'PY' 2>/dev/null || echo no
import torch
print('yes' if torch.version.cuda else 'no')
PY
)"
if [ "$has_cuda_torch" = yes ]; then
  echo "[setup_env] CUDA torch found: keeping its torch/torchvision" >&2
fi

# Split pins.txt into: regular requirements, --no-deps requirements, and the
# constraints every pip call obeys (so nothing can drag in another torch).
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
while IFS= read -r line; do
  spec="${line%%#*}"; spec="$(echo "$spec" | xargs)"
  [ -z "$spec" ] && continue
  if [[ "$line" == *"[cpu-only]"* && "$has_cuda_torch" = yes ]]; then continue; fi
  if [[ "$spec" == *"=="* ]]; then echo "$spec" >> "$tmp/constraints.txt"; fi
  if [[ "$line" == *"[no-deps]"* ]]; then echo "$spec" >> "$tmp/nodeps.txt"
  else echo "$spec" >> "$tmp/regular.txt"; fi
done < "$pins"

# pip's own output (progress, "Location ... is ignored" and resolver warnings) goes to a
# log file; it is shown only when a step fails. SETUP_ENV_VERBOSE=1 shows it as it comes.
log="$venv/setup_env.log"
: > "$log"
pip_step() {
  if [ "${SETUP_ENV_VERBOSE:-0}" = 1 ]; then "${pip[@]}" "$@"; return; fi
  if ! "${pip[@]}" "$@" >> "$log" 2>&1; then
    echo "[setup_env] pip $* failed; its output ($log):" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
echo "[setup_env] installing pinned requirements (about 1-2 minutes on a cold machine; log: $log)" >&2
pip_step install -c "$tmp/constraints.txt" -r "$tmp/regular.txt"
pip_step install --no-deps -c "$tmp/constraints.txt" -r "$tmp/nodeps.txt"
pip_step install --no-deps --no-build-isolation -e "$root"
echo "$want" > "$stamp"
echo "[setup_env] ready: $venv" >&2
