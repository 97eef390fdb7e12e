#!/bin/sh
# run_quant_benchmarks.sh - the quantization-time figures of
# docs/PERFORMANCE.md: per shape, a random bf16 checkpoint of a real shape
# (bench/make-random-model, with small-qwen2's tokenizer so that its
# calib.txt tokenizes), then `ingot quantize --json` from the checkpoint
# directory to the written artifact for each type, with the wall time of
# each phase (read, calibrate, scale_search, clip_search, quantize,
# write) and the peak RSS.  The input is read once beforehand so that it is
# in the page cache.
#   sh bench/run_quant_benchmarks.sh [BUILD_DIR] [WORK_DIR]
# BUILD_DIR: a build of ingot (default build/).  Environment: SHAPES
# (default qwen2-0.5b), TYPES (default "int8 nf4 int4 awq4"), CALIB (default
# ../shared/models/small-qwen2/calib.txt), SAMPLES and LEN (default: ingot's,
# 128 x 512), THREADS (default: all), DEVICE (passed as --device when set).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
work=${2:-/tmp/ingot-quant-bench}
ingot="$build/ingot"
calib=${CALIB:-$top/../shared/models/small-qwen2/calib.txt}
tok=$(dirname "$calib")/tokenizer.json
mkdir -p "$work"
jval() { sed -n "s/^ *\"$1\": *\\([^,]*\\),*\$/\\1/p" "$2" | head -1 | tr -d '"'; }
fmt() { if [ -n "$1" ]; then printf '%.1f' "$1"; else printf -; fi; }
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
for shape in ${SHAPES:-qwen2-0.5b}; do
  d="$work/$shape"
  [ -f "$d/model.safetensors.index.json" ] ||
    "$build/bench/make-random-model" --shape "$shape" -o "$d" --tokenizer "$tok" > /dev/null
  cat "$d"/*.safetensors > /dev/null
  echo "== $shape ($(du -sh "$d" | cut -f1))"
  echo "| type | wall s | read | calibration | scale search | clip search | quantize | write | peak RSS MB |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for t in ${TYPES:-int8 nf4 int4 awq4}; do
    j="$work/$shape.$t.json"
    set -- --type "$t"
    [ "$t" = awq4 ] && set -- "$@" --calib "$calib" ${SAMPLES:+--calib-samples "$SAMPLES"} ${LEN:+--calib-len "$LEN"}
    [ -n "${THREADS:-}" ] && set -- "$@" -t "$THREADS"
    [ -n "${DEVICE:-}" ] && set -- "$@" --device "$DEVICE"
    "$ingot" quantize "$d" -o "$work/$shape.$t.ingot" "$@" --json > "$j" || { echo "| $t | FAILED |"; continue; }
    echo "| $t | $(fmt "$(jval seconds "$j")") | $(fmt "$(jval read "$j")") | $(fmt "$(jval calibrate "$j")") |" \
      "$(fmt "$(jval scale_search "$j")") | $(fmt "$(jval clip_search "$j")") | $(fmt "$(jval quantize "$j")") |" \
      "$(fmt "$(jval write "$j")") | $(fmt "$(jval peak_rss_mb "$j")") |"
    rm -f "$work/$shape.$t.ingot"
  done
done
