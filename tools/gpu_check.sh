#!/usr/bin/env bash
# GPU verification in one call: install the missing stack from .whl/, then
#   1. ViT-B 16x224 train step, bf16 autocast: stock MMAction2 VisionTransformer vs the
#      project's MAEVisionTransformer (clips/s, step peak memory, MFU, attention kernels);
#   2. a short configs/havid_alternating.py training with --amp (bf16 on GPUs that have
#      it) on synthetic 224x224 HA-ViD-layout clips (clips/s, memory, MFU from its log).
#
#   bash tools/gpu_check.sh --download   # here (with network): wheels for Python 3.12 -> .whl/
#   bash tools/gpu_check.sh              # on the GPU machine (carry .whl)
#   bash tools/gpu_check.sh --dry-run    # on CPU: the same steps on a tiny ViT, to test the script
#
# Environment: PYTHON (default python3), BATCH (8), STEPS (10), GPU_CHECK_DIR
# (work_dirs/gpu_check), PEAK_TFLOPS (for GPUs missing from tools/gpu_check.py's table).
# Results: $GPU_CHECK_DIR/summary.txt, vit.json, train.json (and under $OUT if set).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode=gpu
case "${1:-}" in
  --dry-run) mode=cpu ;;
  --download) mode=download ;;
  "") ;;
  *) echo "usage: $0 [--download | --dry-run]" >&2; exit 2 ;;
esac
py="${PYTHON:-python3}"
dir="${GPU_CHECK_DIR:-work_dirs/gpu_check}"
batch="${BATCH:-8}"
steps="${STEPS:-10}"
peak=()
[ -n "${PEAK_TFLOPS:-}" ] && peak=(--peak-tflops "$PEAK_TFLOPS")

pin() {  # version of $1 from requirements/pins.txt, else from this interpreter's install
  local v
  v="$(grep -iE "^$1==" requirements/pins.txt | head -1 | sed -E 's/^[^=]+==([^ ]+).*/\1/')"
  [ -n "$v" ] || v="$("$py" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p')"
  [ -n "$v" ] || { echo "no version known for $1" >&2; exit 1; }
  echo "$1==$v"
}

if [ "$mode" = download ]; then
  # What the GPU image lacks (it has torch, timm, einops, opencv-python-headless, matplotlib,
  # rich, pyyaml, numpy, scipy, zipp). mmengine's unpinned needs take this venv's versions;
  # setuptools<82 for the pkg_resources that mmengine needs for 'mmaction::' config bases.
  pkgs=()
  for p in mmengine mmcv-lite mmaction2 decord importlib-metadata addict yapf termcolor \
           platformdirs lazy-importer setuptools; do pkgs+=("$(pin "$p")"); done
  mkdir -p .whl
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 \
    --platform manylinux1_x86_64 -d .whl "${pkgs[@]}"
  ls -la .whl
  exit 0
fi

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
log="$dir/summary.txt"
: > "$log"
say() { echo "$*" | tee -a "$log"; }

# --- install what is missing (never touches the image's torch) ---
if ! "$py" -c 'import mmaction, mmengine, mmcv, decord' 2>/dev/null; then
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "mmaction2/mmengine/mmcv/decord missing and no .whl/ to install from:" \
         "run 'bash tools/gpu_check.sh --download' where pip can reach the registry" >&2
    exit 1
  fi
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"

say "== gpu_check ($mode) $(date -u '+%Y-%m-%d %H:%M UTC') commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader | tee -a "$log"
"$py" -c 'import torch, mmaction, mmengine, mmcv; print("torch", torch.__version__, "cuda",
torch.version.cuda, "| mmaction2", mmaction.__version__, "mmengine", mmengine.__version__,
"mmcv", mmcv.__version__)' 2>/dev/null | tee -a "$log"

if [ "$mode" = gpu ]; then
  "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else
"no CUDA device visible to torch: use --dry-run on CPU")'
  vit_args=(--arch b --frames 16 --size 224 --batch "$batch" --steps "$steps" --dtype bf16)
  gen_args=(--size 224 224 --frames 64 --train-per-class 1 1 --val-per-class 1 1)
  arch='"b"'; dims=768; depth=12; workers=8
  amp=(--amp); amp_cfg="optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')"
else
  vit_args=(--arch '{"embed_dims": 64, "depth": 2, "num_heads": 2}' --frames 16 --size 64
            --batch 2 --steps 2 --dtype bf16 --cpu)
  gen_args=(--size 64 64 --frames 16 --train-per-class 1 1 --val-per-class 1 1)
  arch='dict(_delete_=True, embed_dims=64, depth=2, num_heads=2)'; dims=64; depth=2
  workers=2; batch=2
  amp=(); amp_cfg='# no --amp: MMEngine'"'"'s AmpOptimWrapper refuses to run without a GPU'
fi

say ""
say "== 1. ViT train step, stock VisionTransformer vs MAEVisionTransformer"
"$py" tools/gpu_check.py vit "${vit_args[@]}" "${peak[@]}" --json "$dir/vit.json" 2>&1 \
  | grep -v -i 'warn\|USDT' | tee -a "$log"

say ""
say "== 2. configs/havid_alternating.py ${amp[*]:+--amp (bf16)}, synthetic HA-ViD clips"
data="$dir/havid"
if [ ! -f "$data/rh_v0/train_list_video.txt" ]; then
  "$py" tools/make_synthetic_data.py havid "$data" --lh-classes 75 --rh-classes 75 \
    --ext .mp4 "${gen_args[@]}" >/dev/null
fi
cat > "$dir/havid_check.py" <<EOF
# written by tools/gpu_check.sh: configs/havid_alternating.py for a short timed run
_base_ = '$root/configs/havid_alternating.py'
model = dict(backbone=dict(pretrained=None, arch=$arch),
             lh_head=dict(in_channels=$dims), rh_head=dict(in_channels=$dims))
train_dataloader = dict(batch_size=$batch, num_workers=$workers,
                        batch_sampler=dict(switch_every=5),
                        dataset=dict(data_root='$data'))
val_dataloader = dict(num_workers=$workers, dataset=dict(data_root='$data'))
test_dataloader = dict(num_workers=$workers, dataset=dict(data_root='$data'))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
$amp_cfg
EOF
rm -rf "$dir/train"
"$py" tools/train.py "$dir/havid_check.py" "${amp[@]}" --no-validate --work-dir "$dir/train" \
  > "$dir/train.log" 2>&1 || { tail -30 "$dir/train.log"; exit 1; }
"$py" tools/gpu_check.py train-log "$dir/train" --batch "$batch" --dims "$dims" \
  --depth "$depth" --size 224 "${peak[@]}" \
  --json "$dir/train.json" 2>&1 | grep -v -i 'warn\|USDT' | tee -a "$log"

if [ -n "${OUT:-}" ]; then
  cp "$log" "$dir/vit.json" "$dir/train.json" "$dir/train.log" "$OUT/" 2>/dev/null || true
fi
say ""
say "summary written to $log"
