#!/bin/sh
# demo.sh - the main job on the bundled model: build ingot, convert
# models/tiny-llama into a bf16 .ingot artifact and verify it, quantize it to
# int8, nf4 and awq4 (calibrated on calib.txt), evaluate each against bf16 on
# held-out text and print the table, then generate a sample with awq4.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/scripts/build.sh"
ingot="$top/build/ingot"
model="$top/models/tiny-llama"
out="$top/build/demo"
chunks=${CHUNKS:-64}   # chunks of 512 tokens of eval.txt (all: 275; docs/QUALITY.md has full runs)
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }
jval() { sed -n "s/^ *\"$1\": *\\([^,]*\\),*\$/\\1/p" "$2" | head -1; }

step "ingot convert models/tiny-llama -o build/demo/bf16.ingot"
"$ingot" convert -q "$model" -o "$out/bf16.ingot"
"$ingot" inspect --verify "$out/bf16.ingot" | sed -n '1,2p;$p'

for t in int8 nf4 awq4; do
  args="--type $t"
  [ "$t" = awq4 ] && args="$args --calib $model/calib.txt"
  step "ingot quantize build/demo/bf16.ingot -o build/demo/$t.ingot $args"
  # shellcheck disable=SC2086
  "$ingot" quantize "$out/bf16.ingot" -o "$out/$t.ingot" $args -q
done

step "ingot eval <each> --text models/tiny-llama/eval.txt --ref build/demo/bf16.ingot --chunks $chunks"
printf '%-6s %10s %9s %9s %9s %10s %8s %s\n' format MiB ppl dppl kld_mean kld_p99 top1% fp16-safe
for t in bf16 int8 nf4 awq4; do
  "$ingot" eval "$out/$t.ingot" --text "$model/eval.txt" --ref "$out/bf16.ingot" --chunks "$chunks" --json -q > "$out/$t.eval.json"
  size=$(wc -c < "$out/$t.ingot")
  awk -v t="$t" -v size="$size" -v ppl="$(jval ppl "$out/$t.eval.json")" -v ref="$(jval ref_ppl "$out/$t.eval.json")" \
      -v kl="$(jval kld_mean "$out/$t.eval.json")" -v p99="$(jval kld_p99 "$out/$t.eval.json")" \
      -v top1="$(jval top1 "$out/$t.eval.json")" -v safe="$(jval fp16_safe "$out/$t.eval.json")" \
      'BEGIN { printf "%-6s %10.2f %9.4f %+9.4f %9.5f %10.5f %8.2f %s\n", t, size / 1048576, ppl, ppl - ref, kl, p99, top1, safe }'
done

step "ingot run build/demo/awq4.ingot -p 'def quicksort(arr):' -n 64 --temp 0"
"$ingot" run "$out/awq4.ingot" -p "def quicksort(arr):" -n 64 --temp 0
