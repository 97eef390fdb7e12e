#!/bin/sh
# quality.sh - produces the tables of docs/QUALITY.md: every quantization
# format of both test models against their bf16 artifact on eval.txt.
#   sh bench/quality.sh [BUILD_DIR] [WORK_DIR]
# BUILD_DIR: a configured and built tree (default ./build); WORK_DIR: where
# the artifacts and JSON results go (default BUILD_DIR/quality).
# Environment: INGOT_MODELS (default: ../shared/models beside the source
# tree) for small-qwen2; CHUNKS=N scores only the first N chunks of 512
# tokens (default: all of eval.txt, as in the docs); MODELS="tiny-llama"
# restricts the models; FORMATS="int8 awq4" restricts the formats (also
# int4-g64 and awq4-g64, group size 64, not run by default); AWQ_ARGS="..."
# adds options to every awq4 quantization (e.g. a shorter calibration).
# Results already in WORK_DIR are reused: delete it to start over.
# The commands it runs are printed (lines starting with '$').
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
work=${2:-$build/quality}
ingot="$build/ingot"
models_dir=${INGOT_MODELS:-$top/../shared/models}
models=${MODELS:-tiny-llama small-qwen2}
formats=${FORMATS:-int8 nf4 nf4-dq int4 awq4 awq4-head8}
chunks=${CHUNKS:+--chunks $CHUNKS}
mkdir -p "$work"

run() { echo "\$ $*" >&2; "$@"; }

model_path() {
  if [ "$1" = tiny-llama ]; then echo "$top/models/tiny-llama"; else echo "$models_dir/$1"; fi
}

# the arguments of each format
format_args() {
  case $1 in
  int8) echo "--type int8" ;;
  nf4) echo "--type nf4" ;;
  nf4-dq) echo "--type nf4 --double-quant" ;;
  int4) echo "--type int4" ;;
  awq4) echo "--type awq4 --calib $2/calib.txt ${AWQ_ARGS:-}" ;;
  awq4-head8) echo "--type awq4 --calib $2/calib.txt --head-type int8 ${AWQ_ARGS:-}" ;;
  int4-g64) echo "--type int4 --group-size 64" ;;  # not in the default list:
  awq4-g64) echo "--type awq4 --calib $2/calib.txt --group-size 64 ${AWQ_ARGS:-}" ;;  # FORMATS="int4-g64 awq4-g64"
  *) echo "unknown format $1" >&2; exit 2 ;;
  esac
}

# jval KEY FILE: the first "KEY": value of a pretty-printed JSON file
jval() { sed -n "s/^ *\"$1\": *\\([^,]*\\),*\$/\\1/p" "$2" | head -1 | tr -d '"'; }

now() { date +%s.%N; }

quantize_one() { # model dir fmt
  m=$1 d=$2 f=$3 w="$work/$1"
  [ -f "$w/$f.ingot" ] && [ -f "$w/$f.quantize.json" ] && return 0
  t0=$(now)
  # shellcheck disable=SC2046
  run "$ingot" quantize -q "$w/bf16.ingot" -o "$w/$f.ingot" $(format_args "$f" "$d") --json > "$w/$f.quantize.json"
  t1=$(now)
  echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }' > "$w/$f.seconds"
}

eval_one() { # model dir name
  w="$work/$1"
  [ -s "$w/$3.eval.json" ] && return 0
  # shellcheck disable=SC2086
  run "$ingot" eval "$w/$3.ingot" --text "$2/eval.txt" --ref "$w/bf16.ingot" --json -q $chunks > "$w/$3.eval.json.tmp"
  mv "$w/$3.eval.json.tmp" "$w/$3.eval.json"
}

row() { # model name
  w="$work/$1" e="$work/$1/$2.eval.json"
  size=$(wc -c < "$w/$2.ingot")
  bpw=$(jval bits_per_weight "$w/$2.quantize.json" 2>/dev/null || true)
  lbpw=$(jval linear_bits_per_weight "$w/$2.quantize.json" 2>/dev/null || true)
  secs=$(cat "$w/$2.seconds" 2>/dev/null || echo -)
  awk -v n="$2" -v size="$size" -v bpw="${bpw:-16}" -v lbpw="${lbpw:-16}" -v secs="$secs" \
      -v ppl="$(jval ppl "$e")" -v ref="$(jval ref_ppl "$e")" -v kld="$(jval kld_mean "$e")" \
      -v p99="$(jval kld_p99 "$e")" -v top1="$(jval top1 "$e")" -v safe="$(jval fp16_safe "$e")" \
      'BEGIN { printf "| %s | %.2f MiB | %.2f / %.2f | %.4f | %+.4f (%+.2f%%) | %.6f | %.5f | %.2f | %s | %s |\n",
               n, size / 1048576, bpw, lbpw, ppl, ppl - ref, 100 * (ppl - ref) / ref, kld, p99, top1,
               safe == "true" ? "yes" : "no", secs }'
}

for m in $models; do
  d=$(model_path "$m")
  if [ ! -d "$d" ]; then echo "SKIP: $d not found (set INGOT_MODELS)" >&2; continue; fi
  mkdir -p "$work/$m"
  [ -f "$work/$m/bf16.ingot" ] || run "$ingot" convert -q "$d" -o "$work/$m/bf16.ingot"
  for f in $formats; do
    quantize_one "$m" "$d" "$f"
    eval_one "$m" "$d" "$f"
  done
done

# the tables, one per model, in Markdown
for m in $models; do
  [ -d "$work/$m" ] || continue
  echo
  echo "#### $m"
  echo
  echo "| format | size | bits/weight (all / linears) | PPL | ΔPPL | KLD mean | KLD p99 | top-1 % | fp16-safe | quantize s |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  ref_ppl=$(jval ref_ppl "$work/$m/int8.eval.json" 2>/dev/null || true)
  size=$(wc -c < "$work/$m/bf16.ingot")
  awk -v size="$size" -v ppl="${ref_ppl:-0}" \
      'BEGIN { printf "| bf16 (reference) | %.2f MiB | 16.00 / 16.00 | %.4f | 0 | 0 | 0 | 100.00 | - | - |\n", size / 1048576, ppl }'
  for f in $formats; do
    [ -s "$work/$m/$f.eval.json" ] && row "$m" "$f"
  done
done
