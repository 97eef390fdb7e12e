#!/bin/sh
# run_benchmarks.sh - produces every number in docs/PERFORMANCE.md.
#   sh bench/run_benchmarks.sh [BUILD_DIR] [WORK_DIR]
# BUILD_DIR: a configured and built tree (default ./build); WORK_DIR: where the
# random checkpoints go (default ./build/bench-models, about 4 GB).  Run it on
# an otherwise idle machine: the results are set against this machine's
# measured bandwidth and FMA peak.  About an hour on 2 cores, most of it the
# two awq4 quantizations of the 0.5B model (SKIP_AWQ=1 leaves them out).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
work=${2:-$build/bench-models}
ingot="$build/ingot"
mkdir -p "$work"

say() { printf '\n### %s\n' "$*"; }
timed() { /usr/bin/time -f '%e s, peak RSS %M KB' "$@"; }

say "machine"
nproc; grep -m1 'model name' /proc/cpuinfo || true

say "tokenizer throughput (eval.txt, $(wc -c < "$top/models/tiny-llama/eval.txt") bytes, open included)"
"$ingot" convert -q "$top/models/tiny-llama" -o "$work/tiny-llama.ingot"
for i in 1 2 3; do timed "$ingot" tokenize "$work/tiny-llama.ingot" --file "$top/models/tiny-llama/eval.txt" >/dev/null; done

say "open the bundled model (open_ms)"
for i in 1 2 3; do "$ingot" bench "$work/tiny-llama.ingot" -p 16 -n 4 -r 1 --json | grep open_ms; done

say "random checkpoints"
for shape in qwen2-0.5b qwen2-1.5b; do
  [ -f "$work/$shape/model.safetensors.index.json" ] || "$build/bench/make-random-model" --shape "$shape" -o "$work/$shape"
  du -sh "$work/$shape"
  say "convert $shape (peak RSS must stay under 25% of the checkpoint)"
  timed "$ingot" convert -q "$work/$shape" -o "$work/$shape.ingot"
done

say "bench qwen2-1.5b bf16"
"$ingot" bench "$work/qwen2-1.5b.ingot" -p 512 -n 64 -r 2

say "quantize qwen2-0.5b (awq4 with the default calibration: 128 x 512 tokens; ~25 min on 2 cores)"
calib="$top/models/tiny-llama/calib.txt"
q="$work/qwen2-0.5b"
for t in int8 nf4 int4; do
  timed "$ingot" quantize -q "$q.ingot" -o "$q-$t.ingot" --type "$t"
done
if [ "${SKIP_AWQ:-0}" != 1 ]; then
  timed "$ingot" quantize -q "$q.ingot" -o "$q-awq4.ingot" --type awq4 --calib "$calib"
  timed "$ingot" quantize -q "$q.ingot" -o "$q-awq4-head8.ingot" --type awq4 --calib "$calib" --head-type int8
fi

say "bench qwen2-0.5b: pp512 (and tg128) of every artifact"
arts="$q.ingot"
for t in int8 nf4 int4 awq4 awq4-head8; do
  if [ -f "$q-$t.ingot" ]; then arts="$arts $q-$t.ingot"; fi
done
for a in $arts; do
  say "bench $(basename "$a")"
  "$ingot" bench "$a" -p 512 -n 128 -r 3
done

say "bench qwen2-0.5b: tg128, six rounds of every artifact in turn (the VM's bandwidth drifts)"
rounds="$work/tg-rounds.txt"
: > "$rounds"
for round in 1 2 3 4 5 6; do
  for a in $arts; do
    printf '%s round %s: ' "$(basename "$a")" "$round"
    "$ingot" bench "$a" -p 0 -n 128 -r 1 --json | tr -d '\n ' |
      sed 's/.*"tg_tps":\([^,]*\).*"read_bw_gbs":\([^,]*\).*"tg_bw_pct":\([^,]*\).*/tg_tps \1 read_bw_gbs \2 tg_bw_pct \3/' |
      tee -a "$rounds"
    echo " $(basename "$a")" >> "$rounds"
    echo
  done
done

say "tg128 medians over the rounds (docs/PERFORMANCE.md quotes these)"
# median FIELD LABEL: the median (and range) of field FIELD of stdin's lines
median() {
  awk -v f="$1" '{print $f}' | sort -n | awk -v b="$2" '
    { v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          print b " median " m " (" v[1] "-" v[NR] ")" }'
}
for a in $arts; do
  b=$(basename "$a")
  grep " $b\$" "$rounds" | median 2 "$b: tg_tps"
  grep " $b\$" "$rounds" | median 6 "$b: tg_bw_pct"
done
