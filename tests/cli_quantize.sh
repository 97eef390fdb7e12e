#!/bin/sh
# cli_quantize.sh - ingot quantize from the command line: exit statuses,
# one-line errors, no partial output (errors, full disk, interrupt),
# determinism, --keep, notes.
. "${srcdir:-.}/tests/cli_lib.sh"

model="$top_srcdir/models/tiny-llama"
calib="$model/calib.txt"
src="$T/tiny.ingot"
quick="--calib $calib --calib-samples 2 --calib-len 64 --loss-samples 1"
expect_status 0 "$INGOT" convert -q "$model" -o "$src"

# usage errors: exit 2, nothing written
q="$T/q.ingot"
expect_status 2 "$INGOT" quantize
expect_status 2 "$INGOT" quantize "$src" --type int8
expect_status 2 "$INGOT" quantize "$src" -o "$q"
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type int3
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type awq4
grep -q -- "--calib" "$T/stderr" || fail "awq4 without --calib: no mention of --calib"
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type int8 --calib "$calib"
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type int4 --group-size 100
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type int8 --group-size 64
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type int4 --double-quant
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type int4 --embed-type int3
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type awq4 --calib "$calib" --calib-len 1
expect_status 2 "$INGOT" quantize "$src" -o "$q" --type int4 --no-such-option
expect_status 2 "$INGOT" quantize "$src" "$src" -o "$q" --type int4
expect_status 0 "$INGOT" quantize --help
grep -q -- "--double-quant" "$T/stdout" || fail "--help lacks --double-quant"
expect_status 0 "$INGOT" quantize --version
[ ! -e "$q" ] || fail "a usage error wrote output"

# every format, checked and runnable
for t in int8 nf4 int4; do
  expect_status 0 "$INGOT" quantize -q "$src" -o "$T/$t.ingot" --type $t
  expect_status 0 "$INGOT" inspect --verify "$T/$t.ingot"
done
expect_status 0 "$INGOT" quantize "$src" -o "$T/dq.ingot" --type nf4 --double-quant --json
grep -q '"type": "nf4"' "$T/stdout" || fail "--json summary lacks the type"
grep -q '"bits_per_weight"' "$T/stdout" || fail "--json summary lacks bits_per_weight"
# shellcheck disable=SC2086
expect_status 0 "$INGOT" quantize -q "$src" -o "$T/awq.ingot" --type awq4 $quick --head-type int8
expect_status 0 "$INGOT" inspect --verify "$T/awq.ingot"
expect_status 0 "$INGOT" eval "$T/awq.ingot" --text "$model/eval.txt" --ctx 64 --chunks 2 --ref "$src" -q
expect_status 0 "$INGOT" quantize -q "$model" -o "$T/fromdir.ingot" --type int8
expect_status 0 "$INGOT" inspect --verify "$T/fromdir.ingot"
for f in "$T"/.[!.]*; do [ -e "$f" ] && fail "temporary file left: $f"; done

# deterministic, also across thread counts
expect_status 0 "$INGOT" quantize -q "$src" -o "$T/int4b.ingot" --type int4
cmp -s "$T/int4.ingot" "$T/int4b.ingot" || fail "two int4 runs differ"
# shellcheck disable=SC2086
expect_status 0 env OMP_NUM_THREADS=1 "$INGOT" quantize -q "$src" -o "$T/awq1.ingot" --type awq4 $quick --head-type int8
cmp -s "$T/awq.ingot" "$T/awq1.ingot" || fail "awq4 differs with one thread"

# --keep leaves tensors in their source type
expect_status 0 "$INGOT" quantize -q "$src" -o "$T/keep.ingot" --type int4 --keep 'blk.0.*' --keep output.weight
expect_status 0 "$INGOT" inspect "$T/keep.ingot"
grep -Eq '^blk\.0\.attn_q\.weight +bf16' "$T/stdout" || fail "--keep: blk.0.attn_q.weight not bf16"
grep -Eq '^output\.weight +bf16' "$T/stdout" || fail "--keep: output.weight not bf16"
grep -Eq '^blk\.1\.attn_q\.weight +int4' "$T/stdout" || fail "--keep: blk.1.attn_q.weight not int4"

# too short a calibration text is an error that says how many tokens there are
printf 'int main(void) { return 0; }\n' > "$T/short.txt"
expect_status 1 "$INGOT" quantize -q "$src" -o "$T/short.ingot" --type awq4 --calib "$T/short.txt" --calib-samples 2 --calib-len 64
grep -q '^ingot: .*short.txt: [0-9]* tokens, fewer than the 128 of 2 sequences of 64' "$T/stderr" || fail "short calibration text: $(cat "$T/stderr")"
[ ! -e "$T/short.ingot" ] || fail "short calibration text left an output"
# a directory of JSON-lines files calibrates, progress per layer shows nothing with -q
mkdir "$T/calib.d"
awk 'BEGIN { printf "{\"text\": \"" } { gsub(/[\\"]/, ""); gsub(/\t/, " "); printf "%s\\n", $0 } NR % 50 == 0 { printf "\"}\n{\"text\": \"" } END { print "\"}" }' \
  "$top_srcdir/models/tiny-llama/calib.txt" > "$T/calib.d/part.jsonl"
expect_status 0 "$INGOT" quantize "$src" -o "$T/jsonl.ingot" --type awq4 --calib "$T/calib.d" --calib-samples 2 --calib-len 64 --json
grep -q '"scale_search"' "$T/stdout" || fail "no phase times in --json"

# failures: exit 1, one line naming the culprit, nothing left
mkdir -p "$T/out"
expect_no_output() {
  for f in "$T/out"/* "$T/out"/.[!.]*; do
    [ -e "$f" ] && [ "$f" != "$T/out/keep.ingot" ] && fail "left output: $f"
  done
  return 0
}
expect_status 1 "$INGOT" quantize /nonexistent.ingot -o "$T/out/x.ingot" --type int8
one_line_error; expect_no_output
grep -q /nonexistent.ingot "$T/stderr" || fail "error does not name the input"
# shellcheck disable=SC2086
expect_status 1 "$INGOT" quantize "$src" -o "$T/out/x.ingot" --type awq4 --calib /nonexistent/calib.txt
one_line_error; expect_no_output
grep -q /nonexistent/calib.txt "$T/stderr" || fail "error does not name the calibration file"
: > "$T/empty.txt"
expect_status 1 "$INGOT" quantize "$src" -o "$T/out/x.ingot" --type awq4 --calib "$T/empty.txt"
one_line_error; expect_no_output
grep -q "empty.txt: empty" "$T/stderr" || fail "empty calibration text not reported"
expect_status 1 "$INGOT" quantize "$src" -o "$T/out/x.ingot" --type int4 --group-size 96
one_line_error; expect_no_output
grep -q "blk.0.attn_q.weight" "$T/stderr" || fail "group size error does not name the tensor"
expect_status 1 "$INGOT" quantize "$T/int8.ingot" -o "$T/out/x.ingot" --type int4
one_line_error; expect_no_output
grep -q "already quantized" "$T/stderr" || fail "quantized input not refused"

# never writes over its input; an existing output survives a failure
cp "$src" "$T/in.ingot"
expect_status 1 "$INGOT" quantize "$T/in.ingot" -o "$T/in.ingot" --type int8
one_line_error
cmp -s "$T/in.ingot" "$src" || fail "input modified"
echo precious > "$T/out/keep.ingot"
expect_status 1 "$INGOT" quantize "$src" -o "$T/out/keep.ingot" --type int4 --group-size 96
[ "$(cat "$T/out/keep.ingot")" = precious ] || fail "existing output harmed"
expect_no_output

# a full disk (file-size limit): exit 1, one line, nothing left -- from an
# artifact, and from a checkpoint (whose conversion is what fails)
( ulimit -f 2048; exec "$INGOT" quantize -q "$src" -o "$T/out/big.ingot" --type int8 ) >"$T/stdout" 2>"$T/stderr"
[ $? -eq 1 ] || fail "full disk: expected exit 1"
one_line_error; expect_no_output
( ulimit -f 2048; exec "$INGOT" quantize -q "$model" -o "$T/out/big.ingot" --type int8 ) >"$T/stdout" 2>"$T/stderr"
[ $? -eq 1 ] || fail "full disk (checkpoint input): expected exit 1"
one_line_error; expect_no_output

# an interrupt during calibration: exit 1, nothing left
"$INGOT" quantize -q "$src" -o "$T/out/int.ingot" --type awq4 --calib "$calib" >"$T/stdout" 2>"$T/stderr" &
pid=$!
sleep 2
kill -INT $pid
wait $pid
[ $? -eq 1 ] || fail "interrupt: expected exit 1"
grep -q "interrupted" "$T/stderr" || fail "interrupt not reported"
expect_no_output
# --mse-scales: the same int4 storage, a lower KL divergence
expect_status 0 "$INGOT" quantize -q "$src" -o "$T/i4.ingot" --type int4
expect_status 0 "$INGOT" quantize -q "$src" -o "$T/i4m.ingot" --type int4 --mse-scales
expect_status 0 "$INGOT" eval "$T/i4.ingot" --ref "$src" --text "$model/eval.txt" --chunks 4 --json -q
k_rtn=$(sed -n 's/^ *"kld_mean": \([0-9.e-]*\),*$/\1/p' "$T/stdout")
expect_status 0 "$INGOT" eval "$T/i4m.ingot" --ref "$src" --text "$model/eval.txt" --chunks 4 --json -q
k_mse=$(sed -n 's/^ *"kld_mean": \([0-9.e-]*\),*$/\1/p' "$T/stdout")
awk -v a="$k_mse" -v b="$k_rtn" 'BEGIN { exit !(a < b) }' || fail "--mse-scales KLD $k_mse is not below min/max $k_rtn"
[ "$(stat -c %s "$T/i4.ingot")" = "$(stat -c %s "$T/i4m.ingot")" ] || fail "--mse-scales changed the size"
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --type int8 --mse-scales
# --target-bpw: usage errors, then a budget met and shown by inspect
tq="--calib $calib --calib-samples 2 --calib-len 64"
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --target-bpw 5
grep -q -- "--calib" "$T/stderr" || fail "--target-bpw without --calib: no mention of --calib"
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --target-bpw 5 --type nf4 $tq
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --target-bpw 5 --group-size 64 $tq
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --target-bpw abc $tq
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --target-bpw 40 $tq
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --type int4 --target-measure proxy
expect_status 2 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --target-bpw 5 --target-measure fast $tq
expect_status 1 "$INGOT" quantize -q "$src" -o "$T/x.ingot" --target-bpw 3 $tq
one_line_error
grep -q "smallest" "$T/stderr" || fail "--target-bpw 3: the error does not give the smallest size"
[ ! -e "$T/x.ingot" ] || fail "--target-bpw errors wrote output"
expect_status 0 "$INGOT" quantize "$src" -o "$T/t5.ingot" --target-bpw 5 --target-measure proxy $tq --json
bpw=$(sed -n 's/^ *"bits_per_weight": \([0-9.e-]*\),*$/\1/p' "$T/stdout")
awk -v b="$bpw" 'BEGIN { exit !(b <= 5 && b > 4.5) }' || fail "--target-bpw 5 gave $bpw bits per weight"
expect_status 0 "$INGOT" inspect --verify "$T/t5.ingot"
grep -q "formats chosen by --target-bpw 5" "$T/stdout" || fail "inspect does not show the allocation"
grep -Eq '^token_embd\.weight +int[456] g[0-9]+ ' "$T/stdout" || fail "inspect: the embedding was not quantized at 5 bits"
pass
