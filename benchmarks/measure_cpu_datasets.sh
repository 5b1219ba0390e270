#!/usr/bin/env bash
# Measures every valid NB201 architecture (one per NB201 class: 6461 valid classes) on this CPU
# with ONNX Runtime (1 thread) and OpenVINO f32 (1 thread), default protocol, worker pinned to
# core ${PIN:-1}. Resumable: re-run the script after an interruption.
# Then: .venv/bin/python scripts/build_measured_datasets.py benchmarks/results/cpu-datasets.sqlite
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${DB:-benchmarks/results/cpu-datasets.sqlite}
for rt in onnxruntime openvino; do
  .venv/bin/eagle measure --runtime "$rt" --threads 1 --precision fp32 --archs valid --seed 0 \
    --pin "${PIN:-1}" --db "$DB" --no-progress
done
