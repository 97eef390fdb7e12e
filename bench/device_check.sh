#!/bin/sh
# device_check.sh - the CUDA backend's accuracy checks, on a GPU machine,
# from the archive bench/device_pack.sh made (NAME "new", built --with-cuda):
#   sh bench/device_check.sh PACK.tar.xz [OUT_DIR]
#  1. the Check suites test_cuda (every kernel against its CPU reference,
#     both models against the transformers goldens) and test_runtime;
#  2. test_cuda's kernel tests under compute-sanitizer (memcheck);
#  3. per model and weight format: `ingot eval --device cuda` against the
#     same artifact on the CPU (--ref-device cpu): perplexity of each and the
#     KL divergence between the GPU's and the CPU's logits, f32 and f16 KV
#     cache; then greedy `ingot run` of the awq4 artifact on both devices.
# INGOT_MODELS: the folder holding small-qwen2 (default ../shared/models);
# CHUNKS: 512-token chunks of eval.txt scored (default 8).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/device_lib.sh"
unpack "$1"
out=${2:-/tmp/ingot-gpu-check}
models=${INGOT_MODELS:-$top/../shared/models}
chunks=${CHUNKS:-8}
ingot="$w/new/ingot"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

suite() { # name [env...]
  t=$1; shift
  [ -x "$w/new/tests/$t" ] || { echo "SKIP $t: not in the pack (PACK_TESTS)"; return 0; }
  if (cd "$top" && env top_srcdir="$top" srcdir="$top" INGOT_MODELS="$models" CK_DEFAULT_TIMEOUT=900 "$@" \
        "$w/new/tests/$t" > "$out/$t.log" 2>&1); then
    echo "PASS $t: $(tail -1 "$out/$t.log")"
  else
    echo "FAIL $t"; tail -40 "$out/$t.log"
  fi
  grep -E '^(cuda|SKIP|prefill GEMM)|logits max|ppl |greedy' "$out/$t.log" || true
}
echo "== Check suites"
suite test_cuda
suite test_runtime

echo "== transformers against its own fp32 goldens in bf16 and fp16 (the yardstick for test_cuda)"
for d in "$top/models/tiny-llama" "$models/small-qwen2"; do
  [ -d "$d" ] || continue
  python3 "$top/bench/hf_precision.py" "$d" 2>"$out/hf_precision.err" ||
    { echo "transformers precision: failed for $d"; tail -3 "$out/hf_precision.err"; }
done

echo "== compute-sanitizer memcheck, kernel tests"
if command -v compute-sanitizer >/dev/null; then
  (cd "$top" && CK_RUN_CASE=kernels top_srcdir="$top" INGOT_MODELS="$models" \
     compute-sanitizer --tool memcheck --error-exitcode 9 "$w/new/tests/test_cuda" > "$out/memcheck.log" 2>&1) &&
    echo "PASS memcheck: $(grep -c 'Program hit\|Invalid' "$out/memcheck.log" || true) reports" ||
    { echo "FAIL memcheck"; grep -m 20 -E 'Invalid|Error|error' "$out/memcheck.log" || tail -20 "$out/memcheck.log"; }
fi

echo "== GPU against CPU, same artifact ($chunks x 512 tokens of eval.txt)"
echo "| model | format | KV | PPL cuda | PPL cpu | diff % | KLD(cpu || cuda) mean | max | top-1 % |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in tiny-llama small-qwen2; do
  if [ "$m" = tiny-llama ]; then d="$top/models/$m"; else d="$models/$m"; fi
  [ -d "$d" ] || { echo "SKIP: $d"; continue; }
  a="$out/$m"; mkdir -p "$a"
  "$ingot" convert -q "$d" -o "$a/bf16.ingot"
  for f in bf16 int8 nf4 nf4-dq int4 awq4; do
    case $f in
    bf16) ;;
    nf4-dq) "$ingot" quantize -q "$a/bf16.ingot" -o "$a/$f.ingot" --type nf4 --double-quant ;;
    awq4) "$ingot" quantize -q "$a/bf16.ingot" -o "$a/$f.ingot" --type awq4 --calib "$d/calib.txt" \
            --calib-samples 16 --calib-len 256 ;;
    *) "$ingot" quantize -q "$a/bf16.ingot" -o "$a/$f.ingot" --type "$f" ;;
    esac
    for kv in f32 f16; do
      j="$a/$f.$kv.json"
      "$ingot" eval "$a/$f.ingot" --text "$d/eval.txt" --chunks "$chunks" --device cuda --kv-type "$kv" \
        --ref "$a/$f.ingot" --ref-device cpu --json -q > "$j" || { echo "FAIL eval $m $f $kv"; continue; }
      awk -v m="$m" -v f="$f" -v kv="$kv" -v p="$(jval ppl "$j")" -v r="$(jval ref_ppl "$j")" \
          -v k="$(jval kld_mean "$j")" -v km="$(jval kld_max "$j")" -v t="$(jval top1 "$j")" \
          'BEGIN { printf "| %s | %s | %s | %.4f | %.4f | %+.4f | %.2e | %.2e | %.2f |\n", m, f, kv, p, r, 100 * (p - r) / r, k, km, t }'
    done
  done
  for dev in cuda cpu; do
    "$ingot" run "$a/awq4.ingot" --device "$dev" -p 'The meaning of life is' -n 48 --temp 0 > "$a/run.$dev.txt" 2>"$a/run.$dev.err"
  done
  if cmp -s "$a/run.cuda.txt" "$a/run.cpu.txt"; then echo "greedy run $m awq4: cuda = cpu"; else
    echo "greedy run $m awq4: cuda differs from cpu"; fi
  echo "--- $m awq4 on cuda:"; cat "$a/run.cuda.txt"; echo; tail -2 "$a/run.cuda.err"
done
