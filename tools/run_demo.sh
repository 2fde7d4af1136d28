#!/usr/bin/env bash
# The main job on a fresh machine: environment, synthetic demo data, a short CPU
# training, a test on held-out clips, printed metrics.
#
#   bash tools/run_demo.sh [extra tools/train.py args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup_env.sh
py="${MMACTION_EXT_VENV:-$root/.venv}/bin/python"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"

config=configs/demo/vit-tiny_synthetic-motion.py
data=data/synthetic_demo
work=work_dirs/demo_vit-tiny_synthetic-motion

if [ ! -f "$data/test_list.txt" ]; then
  echo "[demo] writing synthetic motion clips to $data"
  "$py" tools/make_synthetic_data.py classification "$data"
fi
echo "[demo] training $config (CPU: about a minute)"
"$py" tools/train.py "$config" --work-dir "$work" "$@"
best="$(ls -t "$work"/best_*.pth 2>/dev/null | head -n 1)"
checkpoint="${best:-$(cat "$work/last_checkpoint")}"
echo "[demo] testing $checkpoint on held-out clips"
"$py" tools/test.py "$config" "$checkpoint" --work-dir "$work/test"
