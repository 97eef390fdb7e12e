#!/bin/sh
# device_cpu_check.sh - on the GPU machine (whose CPU has AVX-512 and VNNI),
# checks the CPU kernel sets this VM cannot run: the Check suites of the new
# build (every ISA's kernels against the reference), bit-identical results
# of the old and new builds with each AVX-512 set, and their speed side by
# side.  Takes the archive bench/device_pack.sh made with NAMEs old and new.
#   sh bench/device_cpu_check.sh PACK.tar.xz [OUT_DIR]
# SPEED_ISAS: the kernel sets timed (default avx512vnni avx512 avx2dot avx2;
# none: no timing), ROUNDS, THREADS as bench/compare_speed.sh.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/device_lib.sh"
unpack "$1"
out=${2:-/tmp/ingot-cpu-check}
mkdir -p "$out"
echo "== machine"; grep -m1 'model name' /proc/cpuinfo; nproc
grep -o -w -E 'avx512f|avx512bw|avx512vl|avx512_vnni|avx512vnni' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
echo "== Check suites of the new build (every ISA this CPU runs)"
for t in test_quant test_kernels; do
  (cd "$top" && top_srcdir="$top" srcdir="$top" INGOT_MODELS="$top/../shared/models" CK_DEFAULT_TIMEOUT=600 \
    "$w/new/tests/$t" > "$out/$t.log" 2>&1) && echo "PASS $t: $(tail -1 "$out/$t.log")" || { echo "FAIL $t"; tail -30 "$out/$t.log"; }
done
echo "== bit-identical results, old and new, per AVX-512 kernel set"
MODELS=tiny-llama CHUNKS=8 FORMATS="int8 nf4 nf4-dq int4 awq4" ISAS="avx512 avx512vnni avx2dot" \
  sh "$top/bench/compare_builds.sh" "$w/old" "$w/new" "$out/cmp" 2>/dev/null | grep -E 'DIFFERS|compare_builds' || true
[ "${SPEED_ISAS:-}" = none ] && exit 0
echo "== speed, old and new alternating"
for isa in ${SPEED_ISAS:-avx512vnni avx512 avx2dot avx2}; do
  INGOT_ISA=$isa ROUNDS=${ROUNDS:-5} THREADS=${THREADS:-8} sh "$top/bench/compare_speed.sh" "$w/old" "$w/new" "$out/models" 2>&1 | tail -6
done
