#!/usr/bin/env bash
# Eagle's own CPU latency datasets of the FBNet, OFA-MobileNetV3 and any-network spaces (issues 20
# and 21), measured one sweep after another on core ${PIN:-1} with ONNX Runtime (fp32, 1 thread,
# batch 1), then a seeded random 500 FBNet and 300 OFA archs measured again (the noise ceiling:
# benchmarks/repeat_agreement.py), then the first 2000 FBNet archs with OpenVINO. Resumable: re-run after an interruption. Keep the other core
# free of other measurements. Then:
#   .venv/bin/python scripts/build_space_datasets.py --measured $OUT/fbnet-ort.sqlite $OUT/ofa-ort.sqlite \
#       $OUT/fbnet-ov.sqlite $OUT/anynet-ort.sqlite --conditions "what else ran meanwhile"
#   bash benchmarks/measure_space_datasets.sh [OUT_DIR] [SHARED_DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/space-datasets}  # ignored by git
SHARED=${2:-../shared/data}
mkdir -p "$OUT"
E=.venv/bin/eagle
COMMON=(--runtime onnxruntime --threads 1 --pin "${PIN:-1}" --runs 5 --warmup 5 --no-progress)
.venv/bin/python - "$SHARED" "$OUT" <<'PY'
import csv, random, sys
shared, out = sys.argv[1:]
fbnet = [r["arch"] for r in csv.DictReader(open(f"{shared}/fbnet/architectures.csv"))]
ofa = [r["arch"] for r in csv.DictReader(open(f"{shared}/ofa/architectures.csv"))][:1500]
def write(name, archs):
    open(f"{out}/{name}.csv", "w").write("arch\n" + "".join(f"{a}\n" for a in archs))
write("ofa-first1500", ofa)
write("fbnet-first2000", fbnet[:2000])
rng = random.Random(20261130)
write("fbnet-retest500", [fbnet[i] for i in sorted(rng.sample(range(len(fbnet)), 500))])
write("ofa-retest300", [ofa[i] for i in sorted(rng.sample(range(len(ofa)), 300))])
PY
$E measure --space fbnet --archs "$SHARED/fbnet/architectures.csv" "${COMMON[@]}" --min-round 0.02 --db "$OUT/fbnet-ort.sqlite"
$E measure --space ofa --archs "$OUT/ofa-first1500.csv" "${COMMON[@]}" --min-round 0.02 --db "$OUT/ofa-ort.sqlite"
$E measure --space fbnet --archs "$OUT/fbnet-retest500.csv" "${COMMON[@]}" --min-round 0.02 --db "$OUT/fbnet-retest.sqlite"
$E measure --space ofa --archs "$OUT/ofa-retest300.csv" "${COMMON[@]}" --min-round 0.02 --db "$OUT/ofa-retest.sqlite"
$E measure --space fbnet --archs "$OUT/fbnet-first2000.csv" --runtime openvino --threads 1 --pin "${PIN:-1}" \
  --runs 5 --warmup 5 --no-progress --min-round 0.02 --db "$OUT/fbnet-ov.sqlite"
for f in anynet-variants anynet-torchvision; do
  $E measure --models "benchmarks/data/$f.txt" "${COMMON[@]}" --avg-between 10 --min-round 0.05 --db "$OUT/anynet-ort.sqlite"
done
