#!/bin/sh
# qkernels_bits.sh OLD_BUILD NEW_BUILD [ISA...] - compares the quantized
# matmul kernels of two build trees bit for bit: bench/qkernels_bits.c is
# compiled against each tree's headers and shared library, run for the ISAs
# (default: every one the CPU runs), and the two lists of output hashes are
# diffed.  Exit status 0 when they are identical.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 OLD_BUILD NEW_BUILD [ISA...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
old=$(cd "$1" && pwd)
new=$(cd "$2" && pwd)
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for side in old new; do
    eval b=\$$side
    src=$(sed -n 's/^abs_top_srcdir = //p' "$b/Makefile")
    ${CC:-cc} -std=gnu11 -O1 -I"$src" -I"$src/include" -I"$b" -o "$tmp/bits-$side" \
        "$here/qkernels_bits.c" -L"$b/.libs" -Wl,-rpath,"$b/.libs" -lingot -lxxhash
    OMP_NUM_THREADS=1 "$tmp/bits-$side" "$@" > "$tmp/$side.txt"
done
if diff "$tmp/old.txt" "$tmp/new.txt" > "$tmp/diff.txt"; then
    echo "identical: $(grep -vc '^#' "$tmp/new.txt") outputs ($(grep -v '^#' "$tmp/new.txt" | awk '{print $1}' | sort -u | tr '\n' ' '))"
    grep '^#' "$tmp/new.txt" || true
else
    echo "DIFFERENT outputs (< old, > new):"
    head -40 "$tmp/diff.txt"
    exit 1
fi
