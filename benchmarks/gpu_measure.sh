#!/usr/bin/env bash
# One prepared script for a machine with an NVIDIA GPU (issue 9). From the repository root:
#   OUT=results-dir [PYTHON=python3] bash benchmarks/gpu_measure.sh [SECONDS_BUDGET]
# Runs from the source tree (PYTHONPATH=src), so a machine whose python already has a CUDA torch
# needs no install. Order of work: the CUDA runtime tests (fail fast), then each configuration in
# turn for its share of the budget over all valid NB201 classes in stratified order
# (scripts/stratified_archs.py), so whatever a share measures is a sample spread over the whole
# cost range; a second call with the same store resumes every configuration where it stopped.
# Everything lands in $OUT/gpu.sqlite (then gzipped) with logs beside it.
set -uo pipefail
BUDGET=${1:-450}
OUT=${OUT:-benchmarks/results}
PY=${PYTHON:-.venv/bin/python}
DEV=${RUNTIME_DEVICE:-cuda}      # cpu only to rehearse this script on a machine without a GPU
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"
DB="$OUT/gpu.sqlite"
[ -f "$DB.gz" ] && [ ! -f "$DB" ] && gunzip -k "$DB.gz"
deadline=$(( $(date +%s) + BUDGET ))
left() { echo $(( deadline - $(date +%s) )); }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT/env.txt"
$PY - <<'PY' 2>&1 | tee -a "$OUT/env.txt"
import json, platform, torch
info = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
try:
    import onnxruntime as ort
    info["onnxruntime"] = ort.__version__
    info["ort_providers"] = ort.get_available_providers()
except ImportError:
    info["onnxruntime"] = None
print(json.dumps(info))
PY
if [ "$DEV" = cuda ]; then
  $PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU visible'" || exit 3
  timeout 120 $PY -m pytest -q -p no:cacheprovider tests/measure/test_runtimes.py tests/measure/test_stats_protocol.py -rs \
    > "$OUT/cuda-tests.log" 2>&1; echo "cuda tests exit $?"; tail -4 "$OUT/cuda-tests.log"
fi
ORDER="$OUT/stratified-order.txt"
$PY scripts/stratified_archs.py "$ORDER" || exit 4

PROTO="--warmup 10 --runs 5 --avg-between 10 --min-round 0.01 --timeout 60 --no-progress"
CONFIGS=(   # share of the budget (percent) | options
  "36|--runtime torch --precision fp32 --batch-size 1"
  "22|--runtime torch --precision fp32 --batch-size 1 --runtime-option cuda_graph=true"
  "16|--runtime torch --precision fp16 --batch-size 1"
  "18|--runtime torch --precision fp32 --batch-size 64"
  "8|--runtime onnxruntime --precision fp32 --batch-size 1"
)
if ! $PY -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())" 2>/dev/null \
   && [ "$DEV" = cuda ]; then
  echo "onnxruntime here has no CUDAExecutionProvider (needs onnxruntime-gpu): its share goes to torch fp32"
  unset 'CONFIGS[4]'; CONFIGS[0]="44|${CONFIGS[0]#*|}"
fi
total=$(left)
for entry in "${CONFIGS[@]}"; do
  share=${entry%%|*}; opts=${entry#*|}
  t=$(( total * share / 100 )); [ "$t" -gt "$(left)" ] && t=$(left)
  [ "$t" -le 15 ] && { echo "skipped (no time left): $opts"; continue; }
  echo "== $(date +%T) ${t}s: $opts"
  # SIGINT: the sweep stops like Ctrl-C (current arch dropped, run marked interrupted, resumable)
  # shellcheck disable=SC2086
  timeout -s INT -k 20 "$t" $PY -m eagle measure $opts --runtime-device "$DEV" --archs "$ORDER" --db "$DB" $PROTO
done
$PY -m eagle measure runs --db "$DB"
$PY - "$DB" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for run_id, runtime, batch, n, med, mn, build, meas in con.execute(
    "select r.id, r.runtime_json, json_extract(r.model_json, '$.batch_size'), count(*), avg(m.latency_s), "
    "min(m.latency_s), avg(m.build_s), avg(m.measure_s) "
    "from measurements m join runs r on r.id = m.run_id where m.status = 'ok' group by r.id"):
    print(run_id, runtime, f"batch={batch} archs={n} mean_ms={med*1e3:.3f} min_ms={mn*1e3:.3f} build_s={build:.3f} measure_s={meas:.3f}")
print(list(con.execute("select status, count(*) from measurements group by status")))
con.execute("pragma wal_checkpoint(truncate)")
con.close()
PY
gzip -f "$DB"
ls -la "$OUT"
