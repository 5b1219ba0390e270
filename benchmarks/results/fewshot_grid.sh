cd "$(dirname "$0")/../.."  # repository root
for r in 6 8 12; do for c in 0.1 0.3 1.0; do for sb in 0.2 0.3 0.5; do
  echo "rank $r corr $c sb $sb $(.venv/bin/python benchmarks/fewshot_bench.py --k 10 --select --rank $r --correction $c --scale-std $sb | tail -1)"
done; done; done
