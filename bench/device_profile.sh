#!/bin/sh
# device_profile.sh - where one decode step's time goes on the GPU, kernel by
# kernel, from the archive bench/device_pack.sh made (NAME "new", built
# --with-cuda):
#   sh bench/device_profile.sh PACK.tar.xz [OUT_DIR]
# On a random checkpoint of SHAPE (default qwen2-1.5b), for each of FORMATS
# (default "bf16 int4"): `ingot run` of a 2-token prompt and 2 generated
# tokens under ncu (kernel durations only, clocks left alone as METHOD.md
# asks, CUDA graphs off so that each kernel is seen), then one line per
# kernel and grid: launches, min/max/mean microseconds.  The launches of one
# n = 1 decode step are the rows whose kernel template has N = 1
# (gemv_kernel<T, 1, R>) and the element-wise kernels with the smaller grid.
# ncu's durations of the smallest kernels include about a microsecond more
# than they take inside a graph.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/device_lib.sh"
unpack "$1"
out=${2:-/tmp/ingot-gpu-profile}
mkdir -p "$out"
d="$out/${SHAPE:-qwen2-1.5b}"
random_artifacts "${SHAPE:-qwen2-1.5b}" "$d" "${FORMATS:-bf16 int4}"
for f in ${FORMATS:-bf16 int4}; do
  INGOT_CUDA_GRAPHS=0 ncu --clock-control none --metrics gpu__time_duration.sum --print-summary per-kernel \
    "$w/new/ingot" run "$d.$f.ingot" --device cuda -p 'a b' -n 2 --temp 0 >"$out/ncu.$f.txt" 2>&1 ||
    { echo "FAIL ncu $f"; tail -5 "$out/ncu.$f.txt"; continue; }
  echo "== $f: launches, min / max / mean us, kernel (grid)"
  awk '/^  [^ ].*\(.*\).*Invocations/ { name = $0; sub(/^  /, "", name); sub(/, Device.*/, "", name)
                                        n = $NF }
       /gpu__time_duration.sum/ { printf "%4d %8.2f %8.2f %8.2f  %s\n", n, $(NF-2), $(NF-1), $NF, name }' \
    "$out/ncu.$f.txt"
done
rm -rf "$d" "$d".*.ingot
