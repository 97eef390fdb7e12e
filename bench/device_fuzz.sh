#!/bin/sh
# device_fuzz.sh - runs the libFuzzer harnesses on a machine with more cores
# than this one (the GPU machine has 16 and none of ingot's libraries).
#
#   sh bench/device_fuzz.sh pack OUT.tar.xz [NAME...]
#       here: builds the harnesses (all, or the NAMEs) statically (build-fuzz-static/, clang,
#       ASan+UBSan, libFuzzer) and packs them with the shared libraries they
#       load, the committed seed corpus and the corpus earlier runs grew
#       (build-fuzz/fuzz-corpus/, when there is one);
#   sh bench/device_fuzz.sh run PACK.tar.xz OUTDIR SECONDS JOBS NAME...
#       there: unpacks PACK and runs each harness NAME for SECONDS with JOBS
#       processes sharing one corpus (libFuzzer -jobs/-workers; each reloads
#       what the others found), then writes OUTDIR/NAME.log (the final stats
#       of every job), OUTDIR/summary.txt (executions summed over the jobs,
#       cov/ft of the best job, crashes) and OUTDIR/corpus.tar.xz (the grown
#       corpora, to unpack into build-fuzz/fuzz-corpus/) and any crash inputs.
set -eu
mode=$1; shift
case "$mode" in
pack)
  out=$1; shift
  top=$(cd "$(dirname "$0")/.." && pwd)
  b=$top/build-fuzz-static
  names=${*:-safetensors hf_config tokenizer chat_template artifact calib}
  (cd "$top" && { [ -x configure ] || ./bootstrap; } && mkdir -p "$b" && cd "$b" &&
   { [ -f Makefile ] || CC=clang ../configure -q --enable-fuzzing --disable-shared --without-cuda; } &&
   for n in $names; do make -s -j"$(nproc)" "tests/fuzz/fuzz_$n"; done)
  stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/bin" "$stage/lib" "$stage/seeds" "$stage/grown"
  for n in $names; do
    cp "$b/tests/fuzz/fuzz_$n" "$stage/bin/"
    cp -r "$top/tests/fuzz/corpus/$n" "$stage/seeds/"
    [ ! -d "$top/build-fuzz/fuzz-corpus/$n" ] || cp -r "$top/build-fuzz/fuzz-corpus/$n" "$stage/grown/"
  done
  mkdir -p "$stage/seeds/artifact" && cp "$top/tests/fuzz/corpus/artifact/tiny-bf16.ingot" "$stage/seeds/artifact/"
  for f in "$stage"/bin/*; do ldd "$f"; done | awk '$3 ~ /^\// { print $3 }' | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r l; do cp -L "$l" "$stage/lib/"; done
  tar cJf "$out" -C "$stage" .
  ls -la "$out" ;;
run)
  pack=$1 outdir=$2 secs=$3 jobs=$4; shift 4
  work=$(mktemp -d); mkdir -p "$outdir"
  tar xJf "$pack" -C "$work"
  export LD_LIBRARY_PATH="$work/lib"
  export INGOT_FUZZ_MODEL="$work/seeds/artifact/tiny-bf16.ingot"
  : >"$outdir/summary.txt"
  for n in "$@"; do
    mkdir -p "$work/grown/$n" "$work/crash"
    (cd "$work" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$work/bin/fuzz_$n" -jobs="$jobs" -workers="$jobs" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$work/crash/$n-" "$work/grown/$n" "$work/seeds/$n" \
        >/dev/null 2>&1 || true)
    cat "$work"/fuzz-*.log >"$outdir/$n.log" 2>/dev/null || true
    rm -f "$work"/fuzz-*.log
    execs=$(awk '/stat::number_of_executed_units/ { s += $2 } END { print s + 0 }' "$outdir/$n.log")
    cov=$(grep -o 'cov: [0-9]*' "$outdir/$n.log" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
    ft=$(grep -o 'ft: [0-9]*' "$outdir/$n.log" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
    crashes=$(ls "$work/crash" | grep -c "^$n-" || true)
    echo "$n seconds=$secs jobs=$jobs executions=$execs cov=$cov ft=$ft crashes=$crashes" |
      tee -a "$outdir/summary.txt"
  done
  cp "$work"/crash/* "$outdir/" 2>/dev/null || true
  tar cJf "$outdir/corpus.tar.xz" -C "$work/grown" . ;;
*) echo "usage: device_fuzz.sh pack OUT.tar.xz | run PACK OUTDIR SECONDS JOBS NAME..." >&2; exit 2 ;;
esac
