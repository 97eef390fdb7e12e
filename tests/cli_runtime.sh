#!/bin/sh
# cli_runtime.sh - ingot tokenize / run / eval / bench from the command
# line: outputs, JSON keys, exit statuses and one-line errors.
. "${srcdir:-.}/tests/cli_lib.sh"

model="$top_srcdir/models/tiny-llama"
m="$T/tiny.ingot"
expect_status 0 "$INGOT" convert -q "$model" -o "$m"

# tokenize: golden ids of the first tokenizer case, and back
expect_status 0 "$INGOT" tokenize "$m" --text 'def heap_sort(arr):' --json
grep -q '^{"ids": \[285, 4074, 471, 406, 518' "$T/stdout" || fail "tokenize ids: $(cat "$T/stdout")"
expect_status 0 "$INGOT" tokenize "$m" --decode --text "$(cat "$T/stdout")"
[ "$(cat "$T/stdout")" = 'def heap_sort(arr):' ] || fail "decode round trip: $(cat "$T/stdout")"
printf 'x = 1\n' > "$T/in.txt"
expect_status 0 "$INGOT" tokenize "$m" --file "$T/in.txt"
expect_status 2 "$INGOT" tokenize "$m"
expect_status 2 "$INGOT" tokenize "$m" --text a --file "$T/in.txt"
expect_status 1 "$INGOT" tokenize "$m" --decode --text "1 99999"
one_line_error

# run: greedy is deterministic and stops at -n
expect_status 0 "$INGOT" run "$m" -p 'def quicksort(arr):' -n 16 --temp 0
cp "$T/stdout" "$T/first"
grep -q "tok/s" "$T/stderr" || fail "run prints no timings"
expect_status 0 "$INGOT" run "$m" -p 'def quicksort(arr):' -n 16 --temp 0
cmp -s "$T/stdout" "$T/first" || fail "greedy run is not deterministic"
expect_status 0 "$INGOT" run "$m" -p 'int main' -n 8 --temp 0.7 --top-k 20 --top-p 0.9 --min-p 0.05 --repeat-penalty 1.1 --seed 7
expect_status 0 "$INGOT" run "$m" -p 'hello' -n 8 --chat --system 'be brief' --temp 0
expect_status 2 "$INGOT" run "$m"
expect_status 2 "$INGOT" run "$m" -p x --temp -1
expect_status 2 "$INGOT" run "$m" -p x --system s
long=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "def f(x): return x "; }')
expect_status 1 "$INGOT" run "$m" -p "$long" --ctx 64 -n 4
one_line_error
grep -q "context" "$T/stderr" || fail "long prompt error does not mention the context"
expect_status 0 "$INGOT" run "$m" -p "$long" --ctx 64 -n 4 --truncate --temp 0
expect_status 1 "$INGOT" run "$m" -p x --ctx 100000
one_line_error
expect_status 2 "$INGOT" run "$m" -p x --ctx 0
# invalid UTF-8: a prompt is refused with the offset; tokenize shows what the
# tokenizer makes of it (U+FFFD, as HF tokenizers read such bytes)
bad=$(printf 'ab\377\376cd')
expect_status 1 "$INGOT" run "$m" -p "$bad" -n 2 --temp 0
one_line_error
grep -q "prompt: invalid UTF-8 at byte 2" "$T/stderr" || fail "run with invalid UTF-8: $(cat "$T/stderr")"
expect_status 0 "$INGOT" tokenize "$m" --text "$bad"

# --device / --kv-type: usage errors, and what a machine without a GPU says
for cmd in "run -p x" "eval --text x" "bench -p 8"; do
  expect_status 2 "$INGOT" $cmd "$m" --device gpu
  grep -q -- "--device gpu: expected auto, cpu, cuda or cuda:N" "$T/stderr" || fail "$cmd --device gpu: $(cat "$T/stderr")"
  expect_status 2 "$INGOT" $cmd "$m" --device cuda:x
  expect_status 2 "$INGOT" $cmd "$m" --kv-type q8
done
expect_status 0 "$INGOT" run "$m" -p 'def quicksort(arr):' -n 16 --temp 0 --device cpu
cmp -s "$T/stdout" "$T/first" || fail "--device cpu differs from the default on this machine"
grep -q "ingot: cpu: prompt" "$T/stderr" || fail "run does not say where it ran: $(cat "$T/stderr")"
expect_status 1 "$INGOT" run "$m" -p x -n 2 --device cpu --kv-type f16
one_line_error
grep -q "KV cache type f16" "$T/stderr" || fail "--kv-type f16 on the CPU: $(cat "$T/stderr")"
if ! nvidia-smi -L > /dev/null 2>&1; then
  expect_status 1 "$INGOT" run "$m" -p x -n 2 --device cuda
  one_line_error
  grep -E -q "device cuda:0: (no CUDA device|not built with CUDA)" "$T/stderr" || fail "--device cuda: $(cat "$T/stderr")"
  expect_status 0 "$INGOT" bench "$m" -p 16 -n 4 -r 1 --json
  grep -q '"device": "cpu"' "$T/stdout" || fail "bench --json lacks the device"
fi

# eval: JSON keys, with and without a reference
expect_status 0 "$INGOT" eval "$m" --text "$model/eval.txt" --chunks 2 --ctx 128 --json
for key in ppl tokens fp16_safe layers; do
  grep -q "\"$key\"" "$T/stdout" || fail "eval --json lacks $key"
done
expect_status 0 "$INGOT" eval "$m" --text "$model/eval.txt" --chunks 2 --ctx 128 --ref "$m" --json
for key in ref_ppl kld_mean kld_p99 kld_max top1; do
  grep -q "\"$key\"" "$T/stdout" || fail "eval --ref --json lacks $key"
done
grep -q '"top1": 100' "$T/stdout" || fail "a model against itself must agree 100%"
expect_status 0 "$INGOT" eval "$m" --text "$model/eval.txt" --chunks 1 --ctx 64
grep -q "fp16-safe" "$T/stdout" || fail "eval prints no fp16-safe column"
: > "$T/empty.txt"
expect_status 1 "$INGOT" eval "$m" --text "$T/empty.txt"
one_line_error
expect_status 1 "$INGOT" eval "$m" --text "$T/in.txt"
one_line_error
expect_status 1 "$INGOT" eval "$m" --text "$model/eval.txt" --ctx 100000
one_line_error
expect_status 1 "$INGOT" eval "$m" --text /nonexistent.txt
one_line_error
expect_status 2 "$INGOT" eval "$m"
expect_status 2 "$INGOT" eval "$m" --text "$model/eval.txt" --ctx 0
# invalid UTF-8 in the text, --chunks beyond the text: one-line errors that
# say where and how many
{ head -c 2000 "$model/eval.txt"; printf '\377\376\300'; head -c 2000 "$model/eval.txt"; } > "$T/bad.txt"
expect_status 1 "$INGOT" eval "$m" --text "$T/bad.txt" --ctx 64
one_line_error
grep -q "bad.txt: invalid UTF-8 at byte 2000" "$T/stderr" || fail "eval of invalid UTF-8: $(cat "$T/stderr")"
expect_status 1 "$INGOT" eval "$m" --text "$model/eval.txt" --ctx 512 --chunks 100000
one_line_error
grep -q "make 275 chunks of 512, fewer than the 100000 asked for" "$T/stderr" || fail "eval --chunks beyond the text: $(cat "$T/stderr")"
# --score-from: llama-perplexity's predictions (positions ctx/2 .. ctx-2 of each chunk)
expect_status 0 "$INGOT" eval "$m" --text "$model/eval.txt" --chunks 2 --ctx 128 --score-from 64 --ref "$m" --json
grep -q '"tokens": 126,' "$T/stdout" || fail "eval --score-from 64: $(grep tokens "$T/stdout")"
grep -q '"kld_mean": 0' "$T/stdout" || fail "eval --score-from: KLD of a model against itself"
expect_status 2 "$INGOT" eval "$m" --text "$model/eval.txt" --ctx 128 --score-from 127
# a prompt longer than the context
expect_status 1 "$INGOT" run "$m" -p "$(head -c 3000 "$model/eval.txt")" -n 4 --ctx 64
one_line_error

# bench: JSON keys (tiny run: this is not a measurement)
expect_status 0 "$INGOT" bench "$m" -p 16 -n 4 -r 1 --json
for key in pp_tps tg_tps tg_bw_pct pp_flops_pct peak_rss_mb; do
  grep -q "\"$key\"" "$T/stdout" || fail "bench --json lacks $key"
done
expect_status 2 "$INGOT" bench "$m" -p 0 -n 0
expect_status 1 "$INGOT" bench /nonexistent.ingot
one_line_error
pass
