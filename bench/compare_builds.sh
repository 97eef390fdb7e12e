#!/bin/sh
# compare_builds.sh - checks that two builds of ingot give bit-identical
# results: every artifact bench/quality.sh makes (convert + every quantized
# format, AWQ calibration included) byte for byte, every `ingot eval` JSON
# (perplexity, KL divergence, top-1, per-layer maxima, printed to 10 digits)
# apart from timings, and greedy `ingot run` text of every artifact with
# every kernel set this CPU runs (decode takes other kernels than prefill).
# For refactorings that must not change a bit.
#   sh bench/compare_builds.sh OLD_BUILD NEW_BUILD [WORK_DIR]
# Environment as bench/quality.sh (CHUNKS default 24, MODELS, FORMATS,
# AWQ_ARGS default "--calib-samples 16 --calib-len 256");
# ISAS="ref avx2" restricts the kernel sets (default: all this CPU has).
# Exit status 0 when everything matches, 1 otherwise.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
old=$(cd "$1" && pwd)
new=$(cd "$2" && pwd)
work=${3:-/tmp/ingot-compare}
CHUNKS=${CHUNKS:-24}; export CHUNKS
AWQ_ARGS=${AWQ_ARGS:---calib-samples 16 --calib-len 256}; export AWQ_ARGS
mkdir -p "$work"
sh "$top/bench/quality.sh" "$old" "$work/old" > "$work/old.md"
sh "$top/bench/quality.sh" "$new" "$work/new" > "$work/new.md"

bad=0
differ() { echo "DIFFERS: $*"; bad=1; }
isas=${ISAS:-ref avx2 avx2dot avx512 avx512vnni}
for a in "$work"/old/*/*.ingot; do
  rel=${a#"$work/old/"}
  b="$work/new/$rel"
  cmp -s "$a" "$b" || differ "$rel"
  j=${a%.ingot}.eval.json
  if [ -f "$j" ]; then
    # timings differ run to run; "device" (where it ran) is a field newer builds add
    # (and the commas their removal may leave at the end of a line)
    grep -v -E '"(seconds|device|ref_device)"' "$j" | sed 's/,$//' > "$work/a.json"
    grep -v -E '"(seconds|device|ref_device)"' "${b%.ingot}.eval.json" | sed 's/,$//' > "$work/b.json"
    cmp -s "$work/a.json" "$work/b.json" || differ "${rel%.ingot}.eval.json"
  fi
  for isa in $isas; do
    # a kernel set this CPU lacks makes both builds fail alike: skip it
    INGOT_ISA=$isa "$old/ingot" run "$a" -p 'def quicksort(arr):' -n 32 --temp 0 > "$work/a.txt" 2>/dev/null || continue
    INGOT_ISA=$isa "$new/ingot" run "$b" -p 'def quicksort(arr):' -n 32 --temp 0 > "$work/b.txt" 2>/dev/null || true
    cmp -s "$work/a.txt" "$work/b.txt" || differ "$rel: run with INGOT_ISA=$isa"
    echo "same: $rel run ($isa)"
  done
  echo "checked: $rel"
done
[ "$bad" = 0 ] && echo "compare_builds: identical" || echo "compare_builds: DIFFERENCES (see above)"
exit "$bad"
