#!/bin/sh
# run_gpu_benchmarks.sh - every GPU figure of docs/PERFORMANCE.md, on a GPU
# machine, from the archive bench/device_pack.sh made with a CUDA build
# (NAME "new"):
#   sh bench/run_gpu_benchmarks.sh PACK.tar.xz [WORK_DIR]
# Per shape (random bf16 checkpoints of real shapes, bench/make-random-model):
# convert, quantize each format (awq4 is int4's storage and kernels: its
# speed is int4's), then `ingot bench --device cuda` with a 512-token prompt
# and 128 generated tokens (tg against the read bandwidth and pp against a
# bf16 GEMM, both measured in the same run), and HF transformers `generate`
# (eager, bf16, batch 1) on the same checkpoint for the ratio.
# Environment: SHAPES (default "qwen2-1.5b deepseek-coder-6.7b"), FORMATS
# (default "bf16 int8 nf4 int4"), REPS (default 3), HF=0 skips transformers.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/device_lib.sh"
unpack "$1"
work=${2:-/tmp/ingot-gpu-bench}
ingot="$w/new/ingot"
mkdir -p "$work"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader || true

for shape in ${SHAPES:-qwen2-1.5b deepseek-coder-6.7b}; do
  d="$work/$shape"
  echo "== $shape"
  random_artifacts "$shape" "$d" "${FORMATS:-bf16 int8 nf4 int4}"
  echo "| format | GiB | tg t/s | tg % of read BW | pp512 t/s | pp % of GEMM peak | TTFT ms | upload ms | GPU MiB |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for f in ${FORMATS:-bf16 int8 nf4 int4}; do
    j="$work/$shape.$f.bench.json"
    "$ingot" bench "$d.$f.ingot" --device cuda -p 512 -n 128 -r "${REPS:-3}" --json > "$j" || { echo "FAIL bench $f"; continue; }
    awk -v f="$f" -v gib="$(jval weight_bytes "$j")" -v tg="$(jval tg_tps "$j")" -v tgp="$(jval tg_bw_pct "$j")" \
        -v pp="$(jval pp_tps "$j")" -v ppp="$(jval pp_flops_pct "$j")" -v ttft="$(jval ttft_ms "$j")" \
        -v up="$(jval ctx_ms "$j")" -v mem="$(jval gpu_mem_mb "$j")" \
        'BEGIN { printf "| %s | %.2f | %.1f | %.1f | %.0f | %.1f | %.1f | %.0f | %.0f |\n", f, gib / 2^30, tg, tgp, pp, ppp, ttft, up, mem }'
  done
  j="$work/$shape.bf16.bench.json"
  [ -f "$j" ] && echo "read bandwidth $(jval hbm_read_gbs "$j") GB/s, GEMM peak $(jval gemm_peak_tflops "$j") TFLOP/s; $(jval device "$j")"
  if [ "${HF:-1}" != 0 ]; then
    python3 "$top/bench/hf_generate.py" "$d" --prompt 512 --gen 128 --reps 2 2>/dev/null || echo "transformers: failed"
  fi
  rm -rf "$d" "$d".*.ingot
done
