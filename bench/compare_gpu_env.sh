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
"$w/new/bench/make-random-model" --shape "$shape" -o "$d" --tokenizer "$top/models/tiny-llama/tokenizer.json" >/dev/null
"$ingot" convert -q "$d" -o "$d.bf16.ingot"
for f in $formats; do
  [ "$f" = bf16 ] || "$ingot" quantize -q "$d.bf16.ingot" -o "$d.$f.ingot" --type "$f"
done
jval() { sed -n "s/^ *\"$1\": *\\([^,]*\\),*\$/\\1/p" "$2" | head -1 | tr -d '"'; }
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
for f in $formats; do
  base=
  for v in $values; do
    line=$(awk -v f="$f" -v v="$v" '$1 == f && $2 == v { print $3, $4, $5 }' "$runs" | sort -n | awk '
      { tg[NR] = $1; pp[NR] = $2; bw[NR] = $3 }
      END { n = NR; if (!n) exit
            m = int((n + 1) / 2)
            # tg sorted by the outer sort; pp sorted here
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (pp[j] < pp[i]) { t = pp[i]; pp[i] = pp[j]; pp[j] = t }
            printf "%.1f %.1f %.1f %.1f %.0f %.0f %.0f", tg[m], tg[1], tg[n], bw[m], pp[m], pp[1], pp[n] }')
    [ -n "$line" ] || continue
    set -- $line
    [ -n "$base" ] || base=$1
    awk -v f="$f" -v v="$v" -v tg="$1" -v lo="$2" -v hi="$3" -v bw="$4" -v pp="$5" -v plo="$6" -v phi="$7" -v b="$base" \
      'BEGIN { printf "| %s | %s | %s (%s-%s) | %s | %s (%s-%s) | %.2fx |\n", f, v, tg, lo, hi, bw, pp, plo, phi, tg / b }'
  done
done
rm -rf "$d" "$d".*.ingot
