#!/usr/bin/env bash
# Issue 37: sample-efficient NAS on NB201 with zero-cost proxies. For each accuracy table
# (CIFAR-10, CIFAR-100, ImageNet16-120) and budget (20, 50, 100 trained archs), 10 seeds of
#   random, proxy (zero-cost proxies alone), brp (default: proxy warm-up + proxy/graph inputs)
#   and brp --proxies off (plain BRP-NAS),
# with `eagle search simulate` (5 iterations, 3-BRP ensemble, one torch thread per search), two
# lanes side by side on the two cores. Writes benchmarks/results/nas37/<dataset>-b<budget>[-plain].json;
# then: .venv/bin/python benchmarks/nas_efficiency_report.py (the BENCHMARKS.md tables).
# Resumable (a finished JSON is kept); BUDGETS="50 20" runs only those budgets.
#   bash benchmarks/nas_efficiency.sh [SEEDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-10}
OUT=benchmarks/results/nas37
mkdir -p "$OUT"
E=.venv/bin/eagle
run() {  # dataset budget label extra-args...
  local ds=$1 b=$2 label=$3; shift 3
  local out="$OUT/$ds-b$b$label.json"
  [ -s "$out" ] && return 0
  $E search simulate --accuracy "nasbench201/$ds-valid-accuracy" --seeds "$SEEDS" --budget "$b" \
    --threads 1 --quiet --json "$out" "$@" > "$OUT/$ds-b$b$label.log" 2>&1
  echo "$(date +%T) $ds budget $b $label done"
}
lane() {
  for job in "$@"; do
    IFS=: read -r ds b label <<< "$job"
    if [ "$label" = "-plain" ]; then run "$ds" "$b" -plain --methods brp --proxies off
    else run "$ds" "$b" "" --methods random,proxy,brp; fi
  done
}
A=() B=()
for b in ${BUDGETS:-50 20 100}; do
  for ds in cifar10 cifar100 imagenet16-120; do A+=("$ds:$b:"); B+=("$ds:$b:-plain"); done
done
lane "${A[@]}" &
lane "${B[@]}" &
wait
