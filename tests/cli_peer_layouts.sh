#!/bin/sh
# cli_peer_layouts.sh - ingot's awq, bnb and gguf exports read by references
# outside ingot (tests/peer_layouts.py: numpy unpackers written from
# AutoAWQ's and bitsandbytes' published code, and the gguf package's
# GGUFReader + gguf.quants.dequantize), compared with ingot's own
# dequantization (its hf export of the same artifact).  Python 3, numpy and
# gguf come from scripts/install-deps.sh: without them this test FAILS.
# And a GPTQ checkpoint written by the same script from the awq export, as
# AutoGPTQ packs one, which ingot convert must read back to the same int4.
# Also: `export --format bnb` from the command line, and its refusals.
. "${srcdir:-.}/tests/cli_lib.sh"

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || fail "$PY not found: run scripts/install-deps.sh"
"$PY" -c "import numpy" 2>/dev/null || fail "python numpy missing: run scripts/install-deps.sh"
"$PY" -c "import gguf, gguf.quants" 2>/dev/null || fail "python gguf missing: run scripts/install-deps.sh"
ref="$top_srcdir/tests/peer_layouts.py"

peer() { # peer awq|bnb|gguf EXPORT HF_EXPORT
  checks=$((checks + 1))
  "$PY" "$ref" "$@" >"$T/stdout" 2>"$T/stderr" || fail "peer_layouts.py $1 $2: $(head -3 "$T/stderr")"
}

model="$top_srcdir/models/tiny-llama"
expect_status 0 "$INGOT" convert -q "$model" -o "$T/bf16.ingot"
expect_status 0 "$INGOT" quantize -q "$T/bf16.ingot" -o "$T/int4.ingot" --type int4
expect_status 0 "$INGOT" quantize -q "$T/bf16.ingot" -o "$T/nf4.ingot" --type nf4
expect_status 0 "$INGOT" quantize -q "$T/bf16.ingot" -o "$T/nf4dq.ingot" --type nf4 --double-quant
expect_status 0 "$INGOT" quantize -q "$T/bf16.ingot" -o "$T/int8.ingot" --type int8
for a in bf16 int4 nf4 nf4dq int8; do
  expect_status 0 "$INGOT" export -q "$T/$a.ingot" -o "$T/$a.hf"
done

# AutoAWQ GEMM
expect_status 0 "$INGOT" export -q "$T/int4.ingot" -o "$T/int4.awq" --format awq
peer awq "$T/int4.awq" "$T/int4.hf"

# GPTQ: the awq export re-packed as AutoGPTQ packs (v1: zeros minus one; v2),
# checked against ingot's dequantization, then read by ingot convert: the
# same int4 codes, scales and zeros as the artifact
mkdir -p "$T/u4" && (cd "$T/u4" && tar xf "$T/int4.ingot") || fail "cannot unpack int4.ingot"
for v in v1 v2; do
  checks=$((checks + 1))
  "$PY" "$ref" write-gptq "$T/int4.awq" "$T/$v.gptq" $v >"$T/stdout" 2>"$T/stderr" ||
    fail "write-gptq $v: $(head -3 "$T/stderr")"
  peer gptq "$T/$v.gptq" "$T/int4.hf"
  expect_status 0 "$INGOT" convert -q "$T/$v.gptq" -o "$T/$v.ingot"
  mkdir -p "$T/u$v" && (cd "$T/u$v" && tar xf "$T/$v.ingot") || fail "cannot unpack $v.ingot"
  n=0
  for f in "$T"/u4/tensors/*.weight.qs "$T"/u4/tensors/*.weight.scales "$T"/u4/tensors/*.weight.zeros; do
    cmp -s "$f" "$T/u$v/tensors/${f##*/}" || fail "gptq $v: ${f##*/} differs from the int4 artifact's"
    n=$((n + 1))
  done
  [ "$n" -eq 126 ] || fail "gptq $v: compared $n parts, expected 126"
done

# bitsandbytes: nf4, nf4 with double quant, int8
for a in nf4 nf4dq int8; do
  expect_status 0 "$INGOT" export -q "$T/$a.ingot" -o "$T/$a.bnb" --format bnb --json
  grep -q '"format": "bnb"' "$T/stdout" || fail "--json summary: $(cat "$T/stdout")"
  peer bnb "$T/$a.bnb" "$T/$a.hf"
done
grep -q '"bnb_4bit_use_double_quant": true' "$T/nf4dq.bnb/config.json" || fail "nf4dq: no double quant in config.json"
grep -q '"load_in_8bit": true' "$T/int8.bnb/config.json" || fail "int8: not load_in_8bit in config.json"

# bnb refuses other artifacts: exit 1, one line, nothing written
expect_status 1 "$INGOT" export "$T/int4.ingot" -o "$T/x.bnb" --format bnb
one_line_error
grep -q "needs an nf4 or int8 artifact" "$T/stderr" || fail "bnb refusal: $(cat "$T/stderr")"
[ ! -e "$T/x.bnb" ] || fail "refused bnb export left output"

# GGUF, every tensor through the gguf package
for a in bf16 int4 int8; do
  expect_status 0 "$INGOT" export -q "$T/$a.ingot" -o "$T/$a.gguf" --format gguf
  peer gguf "$T/$a.gguf" "$T/$a.hf"
done
qwen="$INGOT_MODELS/small-qwen2"
if [ -d "$qwen" ]; then # qwen2: biases, tied embeddings, no Q/K permutation
  expect_status 0 "$INGOT" convert -q "$qwen" -o "$T/q.ingot"
  expect_status 0 "$INGOT" quantize -q "$T/q.ingot" -o "$T/q4.ingot" --type int4
  expect_status 0 "$INGOT" export -q "$T/q4.ingot" -o "$T/q4.hf"
  expect_status 0 "$INGOT" export -q "$T/q4.ingot" -o "$T/q4.gguf" --format gguf
  peer gguf "$T/q4.gguf" "$T/q4.hf"
fi

# the references themselves must catch a wrong nibble order
"$PY" - "$T/int4.awq/model.safetensors" <<'PYEOF' || fail "could not corrupt the awq export"
import json, struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
a, e = h["model.layers.0.self_attn.q_proj.qweight"]["data_offsets"]
for i in range(8 + n + a, 8 + n + e, 4):  # swap two nibbles of every word
    w = struct.unpack("<I", b[i:i + 4])[0]
    w = (w & 0xFFFFFF00) | ((w & 0xF) << 4) | ((w >> 4) & 0xF)
    b[i:i + 4] = struct.pack("<I", w)
open(p, "wb").write(b)
PYEOF
checks=$((checks + 1))
"$PY" "$ref" awq "$T/int4.awq" "$T/int4.hf" >"$T/stdout" 2>"$T/stderr" && fail "a corrupted awq export passed"
grep -q "q_proj.weight: .* differ" "$T/stderr" || fail "corruption not named: $(cat "$T/stderr")"
pass
