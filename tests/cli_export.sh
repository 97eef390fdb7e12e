#!/bin/sh
# cli_export.sh - ingot export from the command line: hf export converts
# back to identical tensors and files, awq export of an int4 artifact,
# exit statuses, one-line errors, no partial output, existing outputs.
. "${srcdir:-.}/tests/cli_lib.sh"

model="$top_srcdir/models/tiny-llama"
expect_status 0 "$INGOT" convert -q "$model" -o "$T/tiny.ingot"

# usage errors: exit 2
expect_status 2 "$INGOT" export
expect_status 2 "$INGOT" export "$T/tiny.ingot"
expect_status 2 "$INGOT" export "$T/tiny.ingot" -o "$T/x" --format ggml
grep -q "gguf" "$T/stderr" || fail "known formats not named"
expect_status 2 "$INGOT" export "$T/tiny.ingot" -o "$T/x" --max-shard-size lots
expect_status 2 "$INGOT" export "$T/tiny.ingot" -o "$T/x" --no-such-option
expect_status 0 "$INGOT" export --help
grep -q -- "--format" "$T/stdout" || fail "help lacks --format"
[ ! -e "$T/x" ] || fail "usage error left output"

# members of an artifact, unpacked, for byte comparisons
unpack() { mkdir -p "$2" && (cd "$2" && tar xf "$1") || fail "cannot unpack $1"; }

# hf: export, convert back, same tensors and HF files
expect_status 0 "$INGOT" export -q "$T/tiny.ingot" -o "$T/hf"
[ -s "$T/stderr" ] && fail "-q printed: $(cat "$T/stderr")"
[ -f "$T/hf/model.safetensors" ] || fail "no model.safetensors"
cmp -s "$T/hf/config.json" "$model/config.json" || fail "config.json differs"
cmp -s "$T/hf/tokenizer.json" "$model/tokenizer.json" || fail "tokenizer.json differs"
expect_status 0 "$INGOT" convert -q "$T/hf" -o "$T/back.ingot"
unpack "$T/tiny.ingot" "$T/a"
unpack "$T/back.ingot" "$T/b"
diff -r "$T/a/tensors" "$T/b/tensors" >/dev/null || fail "tensors differ after the round trip"
diff -r "$T/a/hf" "$T/b/hf" >/dev/null || fail "hf files differ after the round trip"
expect_status 0 "$INGOT" inspect --json "$T/back.ingot"
grep -q '"n_layers": 6' "$T/stdout" || fail "config lost in the round trip"

# sharded, with --json
expect_status 0 "$INGOT" export "$T/tiny.ingot" -o "$T/hfs" --max-shard-size 3MB --json
grep -q '"shards": [4-9]' "$T/stdout" || fail "--json summary: $(cat "$T/stdout")"
[ -f "$T/hfs/model.safetensors.index.json" ] || fail "no index"
[ -f "$T/hfs/model-00001-of-0000$(ls "$T/hfs" | grep -c '^model-').safetensors" ] || fail "shard names"
expect_status 0 "$INGOT" convert -q "$T/hfs" -o "$T/back2.ingot"
unpack "$T/back2.ingot" "$T/c"
diff -r "$T/a/tensors" "$T/c/tensors" >/dev/null || fail "sharded round trip differs"

# a quantized artifact: dequantized to bf16, with a warning
expect_status 0 "$INGOT" quantize -q "$T/tiny.ingot" -o "$T/int4.ingot" --type int4
expect_status 0 "$INGOT" export "$T/int4.ingot" -o "$T/hf4"
grep -q "^ingot: warning: .*dequantized to bf16" "$T/stderr" || fail "no dequantization warning"

# awq from int4
expect_status 0 "$INGOT" export -q "$T/int4.ingot" -o "$T/awq" --format awq
grep -q '"quant_method": "awq"' "$T/awq/config.json" || fail "no quantization_config"
grep -q '"version": "gemm"' "$T/awq/config.json" || fail "awq version"
grep -q '"torch_dtype": "float16"' "$T/awq/config.json" || fail "awq torch_dtype"
head -c 4096 "$T/awq/model.safetensors" | grep -q 'q_proj.qweight' || fail "no qweight"

# errors: one line, exit 1, nothing left
mkdir -p "$T/out"
expect_status 0 "$INGOT" quantize -q "$T/tiny.ingot" -o "$T/nf4.ingot" --type nf4
expect_status 1 "$INGOT" export "$T/nf4.ingot" -o "$T/out/awq" --format awq
one_line_error
grep -q "int4 or awq4" "$T/stderr" || fail "error does not name the formats"
[ -z "$(ls -A "$T/out")" ] || fail "left output: $(ls -A "$T/out")"
expect_status 1 "$INGOT" export /nonexistent.ingot -o "$T/out/x"
one_line_error
[ -z "$(ls -A "$T/out")" ] || fail "left output: $(ls -A "$T/out")"

# an existing export is replaced; a failure leaves it; other directories are refused
expect_status 0 "$INGOT" export -q "$T/int4.ingot" -o "$T/hf" --format awq
grep -q quantization_config "$T/hf/config.json" || fail "existing export not replaced"
expect_status 1 "$INGOT" export "$T/nf4.ingot" -o "$T/hf" --format awq
grep -q quantization_config "$T/hf/config.json" || fail "failure harmed the existing export"
mkdir -p "$T/mine"
echo precious > "$T/mine/notes.md"
expect_status 1 "$INGOT" export "$T/tiny.ingot" -o "$T/mine"
one_line_error
[ "$(cat "$T/mine/notes.md")" = precious ] || fail "foreign directory harmed"
[ -z "$(ls -A "$T" | grep '^\.')" ] || fail "temporary directory left: $(ls -A "$T")"

# gguf: one file, the Q4_1 rounding warning, --json; nf4 refused; a full disk leaves nothing
expect_status 0 "$INGOT" export "$T/int4.ingot" -o "$T/int4.gguf" --format gguf
[ "$(head -c 4 "$T/int4.gguf")" = GGUF ] || fail "not a GGUF file"
grep -q "^ingot: warning: .*Q4_1.*largest rounding change" "$T/stderr" || fail "no Q4_1 rounding warning"
expect_status 0 "$INGOT" export "$T/tiny.ingot" -o "$T/out/bf16.gguf" --format gguf --json
grep -q '"linear_type": "bf16"' "$T/stdout" || fail "gguf --json: $(cat "$T/stdout")"
rm -f "$T/out/bf16.gguf"
expect_status 1 "$INGOT" export "$T/nf4.ingot" -o "$T/out/nf4.gguf" --format gguf
one_line_error
grep -q "nf4, which GGUF cannot hold; int4, awq4, int5, int8" "$T/stderr" || fail "nf4 error: $(cat "$T/stderr")"
( ulimit -f 2048; "$INGOT" export -q "$T/tiny.ingot" -o "$T/out/big.gguf" --format gguf ) >"$T/stdout" 2>"$T/stderr"
[ $? -eq 1 ] || fail "gguf full disk: expected exit 1"
[ -z "$(ls -A "$T/out")" ] || fail "gguf left output: $(ls -A "$T/out")"

# a full disk (file-size limit): exit 1, nothing left
( ulimit -f 2048; "$INGOT" export -q "$T/tiny.ingot" -o "$T/out/big" ) >"$T/stdout" 2>"$T/stderr"
[ $? -eq 1 ] || fail "full disk: expected exit 1"
[ -z "$(ls -A "$T/out")" ] || fail "full disk left output: $(ls -A "$T/out")"
pass
