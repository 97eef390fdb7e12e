#!/bin/sh
# check_exports.sh - ingot's GGUF exports against llama.cpp itself.
#
#   LLAMA_CPP_DIR=/path/to/llama.cpp sh scripts/check_exports.sh [BUILD]
#
# For each model (models/tiny-llama; small-qwen2 too when $INGOT_MODELS or
# /work/shared/models holds it): convert to bf16, quantize to int8, int4 and
# awq4 (AWQ calibrated on the model's calib.txt), export every artifact with
# `ingot export --format gguf` (nf4 must be refused), then
#   - load each GGUF in llama.cpp (llama-simple generates a few tokens), and
#   - compare llama-perplexity on eval.txt (-c 512) with ingot's perplexity
#     of the same artifact, like with like: llama-perplexity scores only the
#     second half of each 512-token chunk (positions 256..510), so ingot's
#     number is taken over exactly those predictions (bench/eval_halves, the
#     same forward passes as `ingot eval`, whose all-predictions perplexity
#     it also prints and which `ingot eval` itself gives).  Same chunks: the
#     text tokenized without BOS (add_bos_token is false for both models),
#     floor(n/512) chunks from the first token.  Pass when the two differ by
#     at most 0.5 %.  llama.cpp's tools turn "\t", "\n" ... in a -f text
#     into control characters unless given --no-escape (eval.txt holds C
#     and Python source; llama-perplexity turns it off by itself): always
#     given here.
#   - check that llama.cpp tokenizes the whole of eval.txt into exactly the
#     ids `ingot tokenize` gives (llama-tokenize --ids --no-escape).
# llama.cpp is built from LLAMA_CPP_DIR (a source tree) into
# $LLAMA_CPP_BUILD (default $LLAMA_CPP_DIR/build-ingot-check): cmake, CPU
# only, just llama-perplexity, llama-simple and llama-tokenize, -j2 under nice; an existing
# build there is reused.  Nothing of llama.cpp is copied into this repository.
#
# Environment: CHUNKS (default all) limits the chunks both tools score;
# MODELS (default: the two above) lists HF model directories to check;
# THREADS (default 2); WORK (default BUILD/check-exports) holds the files.
# Prints a Markdown table (the one in docs/EXPORTS.md) and exits 1 when a
# pair disagrees or a GGUF fails to load.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$top/build}" && pwd)
INGOT="$BUILD/ingot"
HALVES="$BUILD/bench/eval_halves"
THREADS=${THREADS:-2}
CHUNKS=${CHUNKS:-}
WORK=${WORK:-$BUILD/check-exports}
: "${LLAMA_CPP_DIR:?set LLAMA_CPP_DIR to a llama.cpp source tree}"
LLAMA_CPP_BUILD=${LLAMA_CPP_BUILD:-$LLAMA_CPP_DIR/build-ingot-check}

die() { echo "check_exports: $*" >&2; exit 1; }
[ -x "$INGOT" ] || die "$INGOT: not built"
[ -x "$HALVES" ] || (cd "$BUILD" && make bench/eval_halves >/dev/null) || die "cannot build eval_halves"

build_llama() {
    if [ -x "$LLAMA_CPP_BUILD/bin/llama-perplexity" ] && [ -x "$LLAMA_CPP_BUILD/bin/llama-simple" ] &&
        [ -x "$LLAMA_CPP_BUILD/bin/llama-tokenize" ]; then
        return 0
    fi
    echo "building llama.cpp from $LLAMA_CPP_DIR in $LLAMA_CPP_BUILD (CPU only)" >&2
    cmake -S "$LLAMA_CPP_DIR" -B "$LLAMA_CPP_BUILD" -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
        -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF >"$WORK/llama-cmake.log" 2>&1 ||
        die "cmake failed: $WORK/llama-cmake.log"
    (cd "$LLAMA_CPP_BUILD" && nice -n 10 make -j2 llama-perplexity llama-simple llama-tokenize) \
        >"$WORK/llama-build.log" 2>&1 || die "llama.cpp build failed: $WORK/llama-build.log"
}

mkdir -p "$WORK"
build_llama
PERPLEXITY="$LLAMA_CPP_BUILD/bin/llama-perplexity"
SIMPLE="$LLAMA_CPP_BUILD/bin/llama-simple"
TOKENIZE="$LLAMA_CPP_BUILD/bin/llama-tokenize"

# Whether llama.cpp's ids for text file $2 with GGUF $1 are ingot's with artifact $3.
same_ids() {
    "$TOKENIZE" -m "$1" -f "$2" --ids --no-escape --log-disable 2>/dev/null | tr -d '[] \n' >"$WORK/ids.llama"
    "$INGOT" tokenize "$3" -f "$2" --json | sed 's/.*\[//; s/\].*//' | tr -d ' \n' >"$WORK/ids.ingot"
    cmp -s "$WORK/ids.llama" "$WORK/ids.ingot"
}

json_num() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" | head -1; }

models=${MODELS:-}
if [ -z "$models" ]; then
    models="$top/models/tiny-llama"
    for d in "${INGOT_MODELS:-}" /work/shared/models; do
        if [ -n "$d" ] && [ -f "$d/small-qwen2/config.json" ]; then
            models="$models $d/small-qwen2"
            break
        fi
    done
fi

fail=0
echo "| model | format | GGUF type | Q4_1/Q8_0 largest change (steps) | loads | llama-perplexity | ingot, same predictions | diff | ingot eval (all predictions) |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in $models; do
    name=$(basename "$m")
    w="$WORK/$name"
    mkdir -p "$w"
    [ -f "$w/bf16.ingot" ] || "$INGOT" convert -q "$m" -o "$w/bf16.ingot"
    for t in int8 int4 nf4; do
        [ -f "$w/$t.ingot" ] || "$INGOT" quantize -q "$w/bf16.ingot" -o "$w/$t.ingot" --type "$t"
    done
    [ -f "$w/awq4.ingot" ] ||
        "$INGOT" quantize -q "$w/bf16.ingot" -o "$w/awq4.ingot" --type awq4 --calib "$m/calib.txt"
    if "$INGOT" export -q "$w/nf4.ingot" -o "$w/nf4.gguf" --format gguf 2>"$w/nf4.err"; then
        echo "nf4 was not refused" >&2
        fail=1
    fi
    [ ! -e "$w/nf4.gguf" ] || { echo "nf4 left a file" >&2; fail=1; }
    for t in bf16 int8 int4 awq4; do
        "$INGOT" export -q "$w/$t.ingot" -o "$w/$t.gguf" --format gguf --json >"$w/$t.export.json" 2>/dev/null
        if [ "$t" = bf16 ]; then
            if same_ids "$w/bf16.gguf" "$m/eval.txt" "$w/bf16.ingot"; then
                echo "$name: llama.cpp and ingot tokenize eval.txt into the same $(awk -F, '{ print NF }' "$WORK/ids.ingot") ids" >&2
            else
                echo "$name: llama.cpp tokenizes eval.txt differently from ingot" >&2
                fail=1
            fi
        fi
        gtype=$(sed -n 's/.*"linear_type": "\([a-z0-9_]*\)".*/\1/p' "$w/$t.export.json")
        steps=$(json_num max_step_fraction <"$w/$t.export.json")
        loads=no
        if "$SIMPLE" -m "$w/$t.gguf" -n 8 "def quicksort(arr):" >"$w/$t.simple.log" 2>&1; then
            loads=yes
        else
            fail=1
        fi
        # llama.cpp's log thread sometimes loses the last lines at exit: run again then
        lppl=
        for try in 1 2 3; do
            [ -z "$lppl" ] || break
            "$PERPLEXITY" -m "$w/$t.gguf" -f "$m/eval.txt" --no-escape -c 512 -b 512 -t "$THREADS" \
                -ctk f32 -ctv f32 ${CHUNKS:+--chunks $CHUNKS} >"$w/$t.ppl.log" 2>&1 || true
            lppl=$(sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' "$w/$t.ppl.log")
        done
        "$HALVES" "$w/$t.ingot" "$m/eval.txt" 512 "${CHUNKS:-0}" >"$w/$t.halves.json"
        half=$(json_num ppl_second_half <"$w/$t.halves.json")
        all=$(json_num ppl_all <"$w/$t.halves.json")
        if [ -z "$lppl" ]; then
            diff="no result"
            fail=1
        else
            diff=$(awk -v a="$lppl" -v b="$half" 'BEGIN { printf "%+.3f %%", (a - b) / b * 100 }')
            awk -v a="$lppl" -v b="$half" 'BEGIN { d = (a - b) / b; exit (d < -0.005 || d > 0.005) }' ||
                { diff="$diff FAIL"; fail=1; }
        fi
        echo "| $name | $t | $gtype | ${steps:--} | $loads | ${lppl:--} | $half | $diff | $all |"
    done
done
exit $fail
