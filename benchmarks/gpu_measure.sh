#!/usr/bin/env bash
# One prepared script for a machine with an NVIDIA GPU (issue 9). Run from the repository root:
#   OUT=/path/to/results bash benchmarks/gpu_measure.sh [SECONDS_BUDGET]
# Set-up (torch with CUDA, onnxruntime-gpu) must already be in .venv. Measures a stratified sample
# of 1000 NB201 classes first for each configuration, then continues over all valid classes until
# the time budget runs out; everything lands in $OUT/gpu.sqlite and resumes on the next call.
set -uo pipefail
BUDGET=${1:-540}
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
DB="$OUT/gpu.sqlite"
EAGLE=.venv/bin/eagle
.venv/bin/python -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU visible'; print(torch.cuda.get_device_name(0))" || exit 3
.venv/bin/python scripts/stratified_archs.py 1000 "$OUT/stratified-1000.txt"
deadline=$(( $(date +%s) + BUDGET ))
left() { echo $(( deadline - $(date +%s) )); }
CONFIGS=(
  "--runtime torch --runtime-device cuda --precision fp32 --batch-size 1"
  "--runtime torch --runtime-device cuda --precision fp32 --batch-size 1 --runtime-option cuda_graph=true"
  "--runtime torch --runtime-device cuda --precision fp16 --batch-size 1"
  "--runtime torch --runtime-device cuda --precision fp32 --batch-size 64"
  "--runtime onnxruntime --runtime-device cuda --batch-size 1"
)
for archs in "$OUT/stratified-1000.txt" valid; do
  for cfg in "${CONFIGS[@]}"; do
    t=$(left); [ "$t" -le 20 ] && break 2
    # shellcheck disable=SC2086
    timeout "$t" $EAGLE measure $cfg --archs "$archs" --db "$DB" --no-progress --timeout 120 || true
  done
done
$EAGLE measure runs --db "$DB"
