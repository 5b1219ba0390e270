#!/usr/bin/env bash
# `eagle calibrate --space ofa` end to end on this CPU (issue 21): pretrain on the bundled OFA GPU
# files (our own CPU dataset left out), let `eagle calibrate` choose 10 archs among the 1500 of
# eagle-cpu/ofa-mbv3-onnxruntime-fp32-t1, measure them now with ONNX Runtime (1 thread, pinned),
# adapt, then score the adapted model on the other archs of our CPU dataset.
#   bash benchmarks/calibrate_ofa_cpu.sh [WORKDIR]
set -euo pipefail
EAGLE="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/eagle"
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
DS=eagle-cpu/ofa-mbv3-onnxruntime-fp32-t1
"$EAGLE" dataset export "$DS" --format csv --output "$WORK/ours.csv"
cut -d, -f1 "$WORK/ours.csv" > "$WORK/pool.csv"
time "$EAGLE" pretrain --space ofa --exclude "$DS" --save "$WORK/BASE.pt"
time "$EAGLE" calibrate --space ofa --base "$WORK/BASE.pt" --k 10 --candidates "$WORK/pool.csv" \
    --runtime onnxruntime --threads 1 --pin 1 --runs 5 --min-round 0.02 --warmup 5 \
    --save "$WORK/CAL.pt" --db "$WORK/calibrate.sqlite" --no-progress
"$EAGLE" evaluate --load "$WORK/CAL.pt" --measurement "$DS" --json "$WORK/calibrate_eval.json"
