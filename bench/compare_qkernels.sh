#!/bin/sh
# compare_qkernels.sh OLD_BUILD NEW_BUILD [ISA...] - the quantized kernels of
# two build trees side by side: bench/bench_qkernels of each, run in
# interleaved rounds (old, new, old, new, ...) so that a noisy machine
# weighs on both alike, and the median of each number over the rounds.
#
#   ISA      default: avx2 avx2dot (whatever bench_qkernels accepts)
#   ROUNDS   runs of each build per ISA (default 3)
#   THREADS  bench_qkernels threads (default 2)
#   SHAPES   bench_qkernels shape indices, e.g. 012 (default: all)
#   REPORT_ONLY=1  only summarize the outputs already in $OUT
#
# Prints, per ISA, format and shape: decode time (us, lower is better) and
# prefill GFLOP/s (higher is better), old and new medians and the change,
# then the same for the best round of each (the least disturbed one: on a
# shared machine a round that another job slowed says nothing of a kernel).
# bf16 rows use kernels no quantized change touches: their change is the
# noise of the machine.  The raw outputs stay in $OUT (default: a new
# temporary directory, printed at the end).
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 OLD_BUILD NEW_BUILD [ISA...]" >&2
    exit 2
fi
old=$1
new=$2
shift 2
[ $# -gt 0 ] || set -- avx2 avx2dot
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
shapes=${SHAPES:-}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
for b in "$old" "$new"; do
    [ -x "$b/bench/bench_qkernels" ] || { echo "$b/bench/bench_qkernels: not built" >&2; exit 1; }
done
for isa in "$@"; do
    [ -z "${REPORT_ONLY:-}" ] || break
    r=1
    while [ "$r" -le "$rounds" ]; do
        for side in old new; do
            eval b=\$$side
            echo "== $isa round $r $side" >&2
            "$b/bench/bench_qkernels" "$isa" "$threads" $shapes > "$out/$isa.$side.$r.txt"
        done
        r=$((r + 1))
    done
done
for isa in "$@"; do
    echo
    echo "isa $isa, threads $threads, $rounds rounds (medians; old -> new, change)"
    printf '%-8s %-13s %10s %10s %7s   %10s %10s %7s   %s\n' format shape dec_us_old dec_us_new change \
        pf_GF_old pf_GF_new change "best rounds: decode, prefill change"
    for side in old new; do
        for f in "$out/$isa.$side".*.txt; do
            awk -v side="$side" '$2 ~ /^[0-9]+->[0-9]+$/ { print side, $1, $2, $4, $7 }' "$f"
        done
    done | awk '
        function sorted(list, a,    n, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
                    t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
                }
            return n
        }
        function median(list,    n, a) {
            n = sorted(list, a)
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        function lowest(list,    a) { sorted(list, a); return a[1] }
        function highest(list,    n, a) { n = sorted(list, a); return a[n] }
        {
            k = $2 " " $3
            if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
            dec[$1, k] = dec[$1, k] " " $4
            pf[$1, k] = pf[$1, k] " " $5
        }
        END {
            for (i = 1; i <= nk; i++) {
                k = order[i]
                split(k, f, " ")
                d0 = median(dec["old", k]); d1 = median(dec["new", k])
                p0 = median(pf["old", k]); p1 = median(pf["new", k])
                dc = d0 > 0 ? 100 * (d1 - d0) / d0 : 0
                pc = p0 > 0 ? 100 * (p1 - p0) / p0 : 0
                b0 = lowest(dec["old", k]); b1 = lowest(dec["new", k])
                g0 = highest(pf["old", k]); g1 = highest(pf["new", k])
                bc = b0 > 0 ? 100 * (b1 - b0) / b0 : 0
                gc = g0 > 0 ? 100 * (g1 - g0) / g0 : 0
                printf "%-8s %-13s %10.1f %10.1f %+6.1f%%   %10.1f %10.1f %+6.1f%%   %+6.1f%% %+6.1f%%\n", f[1], f[2], d0, d1, dc, p0, p1, pc, bc, gc
            }
        }'
done
echo
echo "raw outputs: $out"
