#!/bin/sh
# replay.sh - runs every fuzz harness once over each input of its corpus,
# tests/fuzz/corpus/<name>/ (make check).  Fails on a crash, a sanitizer
# report or a broken invariant; the same command line works for the libFuzzer
# builds (--enable-fuzzing) and the plain ones.
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-.}
for h in safetensors hf_config tokenizer chat_template artifact calib; do
  prog="$build/tests/fuzz/fuzz_$h"
  dir="$top/tests/fuzz/corpus/$h"
  [ -d "$dir" ] || { echo "replay: $dir: missing corpus" >&2; exit 1; }
  if ! out=$("$prog" -runs=0 "$dir" 2>&1); then
    printf '%s\n' "$out" | tail -40 >&2
    echo "replay: fuzz_$h failed on its corpus" >&2
    exit 1
  fi
  n=$(ls "$dir" | wc -l)
  echo "replay: fuzz_$h: $n input(s) of $dir"
done
