#!/bin/sh
# compare_gpu_env.sh - one CUDA build's decode and prefill speed under each
# value of an environment variable that picks a kernel variant, on a GPU
# machine, from the archive bench/device_pack.sh made (NAME "new"):
#   sh bench/compare_gpu_env.sh PACK.tar.xz VAR "V1 V2 ..." [WORK_DIR]
# e.g. VAR=INGOT_CUDA_GEMV_ROWS with "1 2 4 auto".  On a random checkpoint
# of SHAPE (default qwen2-1.5b), for each of FORMATS (default "bf16 int8
# int4"), ROUNDS rounds (default 3) of `ingot bench --device cuda -p 512 -n
# 128 -r 1`, the values interleaved within each round so that drift and
# noise fall on all of them alike; prints every run, then per format and
# value the median tg and pp tokens/s, their spread (min-max) and the
# median tg as a ratio to the first value's.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/device_lib.sh"
unpack "$1"
var=$2 values=$3 work=${4:-/tmp/ingot-gpu-env}
ingot="$w/new/ingot"
shape=${SHAPE:-qwen2-1.5b} formats=${FORMATS:-bf16 int8 int4}
mkdir -p "$work"
d="$work/$shape"
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader || true
random_artifacts "$shape" "$d" "$formats"
runs="$work/runs.txt"
: >"$runs"
for r in $(seq "${ROUNDS:-3}"); do
  for f in $formats; do
    for v in $values; do
      j="$work/$f.$v.json"
      env "$var=$v" "$ingot" bench "$d.$f.ingot" --device cuda -p 512 -n 128 -r 1 --json >"$j" ||
        { echo "FAIL $f $var=$v"; continue; }
      echo "$f $v $(jval tg_tps "$j") $(jval pp_tps "$j") $(jval tg_bw_pct "$j")" | tee -a "$runs"
    done
  done
done
echo "| format | $var | tg t/s median (min-max) | tg % of read BW | pp512 t/s median (min-max) | tg vs $(echo $values | cut -d' ' -f1) |"
echo "|---|---|---|---|---|---|"
# stat F V COL: median, min and max of column COL of F's runs under V
stat() {
  awk -v f="$1" -v v="$2" -v c="$3" '$1 == f && $2 == v { print $c }' "$runs" | sort -g |
    awk '{ x[NR] = $1 } END { if (NR) print x[int((NR + 1) / 2)], x[1], x[NR] }'
}
for f in $formats; do
  base=
  for v in $values; do
    tg=$(stat "$f" "$v" 3)
    [ -n "$tg" ] || continue
    set -- $tg
    [ -n "$base" ] || base=$1
    awk -v f="$f" -v v="$v" -v tg="$tg" -v bw="$(stat "$f" "$v" 5)" -v pp="$(stat "$f" "$v" 4)" -v b="$base" '
      BEGIN { split(tg, t, " "); split(bw, w, " "); split(pp, p, " ")
              printf "| %s | %s | %.1f (%.1f-%.1f) | %.1f | %.0f (%.0f-%.0f) | %.2fx |\n",
                     f, v, t[1], t[2], t[3], w[1], p[1], p[2], p[3], t[1] / b }'
  done
done
rm -rf "$d" "$d".*.ingot
