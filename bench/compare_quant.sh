#!/bin/sh
# compare_quant.sh - wall time of the same `ingot quantize` by two builds,
# interleaved (old, new, old, new, ...) so that both see the same machine.
#   sh bench/compare_quant.sh OLD_INGOT NEW_INGOT INPUT [quantize options...]
# e.g. sh bench/compare_quant.sh /work/old/build/ingot build/ingot q05.ingot \
#        --type awq4 --calib calib.txt --calib-samples 16 --calib-len 512 --loss-samples 4
# ROUNDS (default 2).  Prints each run, then the medians and their ratio.
set -eu
old=$1 new=$2 in=$3; shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "${ROUNDS:-2}"); do
  for v in old new; do
    if [ "$v" = old ]; then b=$old; else b=$new; fi
    t0=$(date +%s.%N)
    "$b" quantize -q "$in" -o "$out/$v.ingot" "$@"
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    echo "round $r $v $t s"
    echo "$t" >> "$out/$v.times"
  done
done
med() { sort -n "$1" | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mo=$(med "$out/old.times") mn=$(med "$out/new.times")
awk -v o="$mo" -v n="$mn" 'BEGIN { printf "median old %.1f s, new %.1f s: new is %.2f x as fast\n", o, n, o / n }'
