#!/bin/sh
# cli_convert.sh - ingot convert / inspect from the command line: exit
# statuses, one-line errors, no partial output, determinism, --verify.
. "${srcdir:-.}/tests/cli_lib.sh"

model="$top_srcdir/models/tiny-llama"
out="$T/tiny.ingot"

# usage errors: exit 2
expect_status 2 "$INGOT"
expect_status 2 "$INGOT" convert
expect_status 2 "$INGOT" convert "$model"
expect_status 2 "$INGOT" convert "$model" -o "$out" --dtype f64
expect_status 2 "$INGOT" convert "$model" -o "$out" --no-such-option
expect_status 2 "$INGOT" inspect
expect_status 2 "$INGOT" frobnicate
expect_status 0 "$INGOT" --version
expect_status 0 "$INGOT" convert --help
expect_status 0 "$INGOT" inspect --help

# the good path
expect_status 0 "$INGOT" convert -q "$model" -o "$out"
[ -f "$out" ] || fail "no output written"
expect_status 0 "$INGOT" inspect "$out"
grep -q "token_embd.weight" "$T/stdout" || fail "inspect table lacks token_embd.weight"
expect_status 0 "$INGOT" inspect --json "$out"
for key in architecture hidden_size n_layers n_heads n_kv_heads head_dim ffn_size vocab_size rope theta scaling tied_embeddings tensors; do
  grep -q "\"$key\"" "$T/stdout" || fail "inspect --json lacks $key"
done
expect_status 0 "$INGOT" inspect --json "$model"
grep -q '"n_layers": 6' "$T/stdout" || fail "inspect of the HF directory"
expect_status 0 "$INGOT" inspect --verify "$out"
expect_status 0 "$INGOT" convert "$model" -o "$T/j.ingot" --json
grep -q '"tensors": 57' "$T/stdout" || fail "convert --json summary"

# deterministic, and SOURCE_DATE_EPOCH stamps the members
expect_status 0 "$INGOT" convert -q "$model" -o "$T/again.ingot"
cmp -s "$out" "$T/again.ingot" || fail "two conversions differ"
expect_status 0 env SOURCE_DATE_EPOCH=1700000000 "$INGOT" convert -q "$model" -o "$T/dated.ingot"
tar tvf "$T/dated.ingot" | grep -q 2023-11 || fail "SOURCE_DATE_EPOCH not used"
tar tf "$out" | head -1 | grep -qx ingot.json || fail "ingot.json is not the first member"

# a flipped byte in a tensor is named by --verify (exit 1)
cp "$out" "$T/bad.ingot"
size=$(wc -c < "$out")
# flip a byte near the end: inside the last tensor's data
pos=$((size - 4096))
printf '\377' | dd of="$T/bad.ingot" bs=1 seek=$pos conv=notrunc 2>/dev/null
expect_status 1 "$INGOT" inspect --verify "$T/bad.ingot"
grep -q "^ingot: output.weight: checksum mismatch" "$T/stderr" || fail "--verify did not name the corrupted tensor: $(cat "$T/stderr")"
grep -q "1 corrupted tensor" "$T/stderr" || fail "--verify summary"

# bad inputs: exit 1, one line naming the file, no output left
expect_no_output() {
  ls -A "$T/out" | grep -q . && fail "left output: $(ls -A "$T/out")"
  return 0
}
mkdir -p "$T/out"
expect_status 1 "$INGOT" convert /nonexistent/dir -o "$T/out/x.ingot"
one_line_error; expect_no_output
grep -q "/nonexistent/dir" "$T/stderr" || fail "error does not name the directory"
mkdir -p "$T/empty"
expect_status 1 "$INGOT" convert "$T/empty" -o "$T/out/x.ingot"
one_line_error; expect_no_output
grep -q "config.json" "$T/stderr" || fail "error does not name config.json"
expect_status 1 "$INGOT" inspect /nonexistent.ingot
one_line_error
echo "not a tar" > "$T/junk.ingot"
expect_status 1 "$INGOT" inspect "$T/junk.ingot"
one_line_error

# refuses to write over its input; an existing output survives a failure
cp -r "$model" "$T/copy"
chmod -R u+w "$T/copy"
expect_status 1 "$INGOT" convert "$T/copy" -o "$T/copy/model-00001-of-00002.safetensors"
cmp -s "$T/copy/model-00001-of-00002.safetensors" "$model/model-00001-of-00002.safetensors" || fail "input modified"
echo "precious" > "$T/out/keep.ingot"
echo '{"model_type": "gemma"}' > "$T/copy/config.json"
expect_status 1 "$INGOT" convert "$T/copy" -o "$T/out/keep.ingot"
grep -q gemma "$T/stderr" || fail "unsupported model_type not named"
[ "$(cat "$T/out/keep.ingot")" = precious ] || fail "existing output harmed"
[ "$(ls -A "$T/out")" = keep.ingot ] || fail "temporary file left behind"

# a full disk (file-size limit): exit 1, nothing left
( ulimit -f 2048; "$INGOT" convert -q "$model" -o "$T/out/big.ingot" ) >"$T/stdout" 2>"$T/stderr"
[ $? -eq 1 ] || fail "full disk: expected exit 1"
[ "$(ls -A "$T/out")" = keep.ingot ] || fail "full disk left output: $(ls -A "$T/out")"

# the second model, when present
if [ -d "$INGOT_MODELS/small-qwen2" ]; then
  expect_status 0 "$INGOT" convert -q "$INGOT_MODELS/small-qwen2" -o "$T/qwen.ingot"
  expect_status 0 "$INGOT" inspect --verify --json "$T/qwen.ingot"
  grep -q '"tied_embeddings": true' "$T/stdout" || fail "qwen2 tied embeddings"
else
  echo "SKIP: small-qwen2 not found in $INGOT_MODELS"
fi
pass
