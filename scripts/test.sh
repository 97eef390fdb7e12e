#!/bin/sh
# test.sh - builds ingot and runs every test (make check).
#   --sanitize   build in ./build-san with ASan+UBSan and run the suite there
#   --distcheck  also run make distcheck
#   --fuzz       build in ./build-fuzz with clang and libFuzzer and run every
#                fuzz harness for FUZZ_SECONDS (default 30) each
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sanitize=no; distcheck=no; fuzz=no
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=yes ;;
    --distcheck) distcheck=yes ;;
    --fuzz) fuzz=yes ;;
    *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
if [ "$fuzz" = yes ]; then sh "$top/scripts/install-deps.sh" --fuzz; else sh "$top/scripts/install-deps.sh"; fi
cd "$top"
[ -x configure ] || ./bootstrap
jobs=$(nproc 2>/dev/null || echo 2)
if [ "$fuzz" = yes ]; then
  mkdir -p build-fuzz && cd build-fuzz
  [ -f Makefile ] || CC=clang ../configure -q --enable-fuzzing --without-cuda
  make -s -j"$jobs"
  make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
  exit 0
fi
if [ "$sanitize" = yes ]; then
  mkdir -p build-san && cd build-san
  [ -f Makefile ] || ../configure -q --enable-asan --enable-ubsan --without-cuda
  make -s -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 make -s check -j"$jobs" || { cat tests/*.log >&2 2>/dev/null; exit 1; }
  exit 0
fi
mkdir -p build && cd build
[ -f Makefile ] || ../configure -q
make -s -j"$jobs"
if ! make -s check -j"$jobs"; then
  for f in tests/*.log; do grep -q -E "^(FAIL|ERROR)" "${f%.log}.trs" 2>/dev/null && { echo "== $f"; tail -50 "$f"; }; done
  exit 1
fi
cat test-suite.log | head -20
[ "$distcheck" = no ] || make -s distcheck
