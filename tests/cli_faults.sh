#!/bin/sh
# cli_faults.sh - kill -9 at many points of convert, quantize and export:
# the destination is then either the previous file (byte for byte) or a
# complete new one that verifies, never a partial one; the temporary the
# killed process left (".NAME.tmp.PID.XXXXXX") is removed by the next run
# that writes NAME; an unwritable destination and a source that shrinks
# mid-read are one-line errors.
. "${srcdir:-.}/tests/cli_lib.sh"
model="$top_srcdir/models/tiny-llama"
expect_status 0 "$INGOT" convert -q "$model" -o "$T/tiny.ingot"
expect_status 0 "$INGOT" quantize -q "$T/tiny.ingot" -o "$T/int4.ingot" --type int4

# kill_loop NAME OUT CMD...: OUT starts as a copy of an older artifact
# (int4.ingot; for a directory, an hf export of tiny.ingot); CMD is killed after each delay; OUT must then be the old
# bytes or the new ones: ingot's outputs are deterministic, so a complete
# one equals the reference run's (which --verify'd checks elsewhere).
kill_loop() {
  name=$1 out=$2; shift 2
  t0=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || fail "$name: the reference run failed"
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  mv "$out" "$T/ref.$name"
  old=0 new=0
  # kill at 0, 10, ..., 120 % of the reference run's time
  for f in 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.2; do
    d=$(awk -v t="$t" -v f="$f" 'BEGIN { printf "%.3f", t * f }')
    rm -rf "$out"
    if [ -d "$T/ref.$name" ]; then cp -r "$T/tinydir" "$out"; else cp "$T/int4.ingot" "$out"; fi
    "$@" > /dev/null 2>&1 &
    pid=$!
    sleep "$d"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if [ -d "$T/ref.$name" ]; then
      if diff -r "$out" "$T/tinydir" > /dev/null 2>&1; then old=$((old + 1));
      elif diff -r "$out" "$T/ref.$name" > /dev/null 2>&1; then new=$((new + 1));
      else fail "$name killed after ${d}s: $out is neither the old nor the new directory"; fi
    elif cmp -s "$out" "$T/int4.ingot"; then old=$((old + 1))
    elif cmp -s "$out" "$T/ref.$name"; then new=$((new + 1))
    else fail "$name killed after ${d}s: $out is neither the old nor the new file"; fi
    checks=$((checks + 1))
  done
  # whatever the killed runs left beside OUT, the next run removes
  dir=$(dirname "$out") base=$(basename "$out")
  "$@" > /dev/null 2>&1 || fail "$name: the run after the kills failed"
  left=$(find "$dir" -maxdepth 1 -name ".$base.tmp.*" | wc -l)
  [ "$left" -eq 0 ] || fail "$name: $left temporaries left beside $out: $(ls -a "$dir")"
  echo "$name: $old kills left the old output, $new the new one, none a partial one"
}

mkdir -p "$T/conv" "$T/quant" "$T/gguf" "$T/hf"
kill_loop convert "$T/conv/m.ingot" "$INGOT" convert -q "$model" -o "$T/conv/m.ingot"
kill_loop quantize "$T/quant/m.ingot" "$INGOT" quantize -q "$T/tiny.ingot" -o "$T/quant/m.ingot" --type awq4 \
  --calib "$model/calib.txt" --calib-samples 2 --calib-len 128
kill_loop gguf "$T/gguf/m.gguf" "$INGOT" export -q "$T/int4.ingot" -o "$T/gguf/m.gguf" --format gguf
# a directory export replaces an older checkpoint directory
expect_status 0 "$INGOT" export -q "$T/tiny.ingot" -o "$T/tinydir" --format hf
kill_loop hf "$T/hf/m" "$INGOT" export -q "$T/int4.ingot" -o "$T/hf/m" --format hf

# a stale temporary of a live process is left alone; one of a dead process goes
sleep 30 & live=$!
: > "$T/conv/.m.ingot.tmp.$live.AAAAAA"
sh -c 'exit 0' & dead=$!; wait "$dead"
: > "$T/conv/.m.ingot.tmp.$dead.BBBBBB"
: > "$T/conv/.m.ingot.tmp.$dead.CCCCCC.old"
expect_status 0 "$INGOT" convert -q "$model" -o "$T/conv/m.ingot"
[ -e "$T/conv/.m.ingot.tmp.$live.AAAAAA" ] || fail "removed the temporary of a running process"
[ ! -e "$T/conv/.m.ingot.tmp.$dead.BBBBBB" ] || fail "left the temporary of a dead process"
[ -e "$T/conv/.m.ingot.tmp.$dead.CCCCCC.old" ] || fail "removed a set-aside .old directory"
kill "$live"

# an unwritable destination directory: one line, nothing written
if [ "$(id -u)" != 0 ]; then
  mkdir "$T/ro" && chmod 555 "$T/ro"
  expect_status 1 "$INGOT" convert -q "$model" -o "$T/ro/m.ingot"
  one_line_error
  chmod 755 "$T/ro"
fi
expect_status 1 "$INGOT" convert -q "$model" -o "/proc/ingot-cannot-write-here.ingot"
one_line_error

# a truncated shard: an error naming the file, no output
mkdir "$T/shrink"
find "$model" -maxdepth 1 -type f -exec cp {} "$T/shrink/" \;
st=$(ls "$T/shrink"/*.safetensors | head -1)
truncate -s 1024 "$st"
expect_status 1 "$INGOT" convert -q "$T/shrink" -o "$T/shrink.ingot"
one_line_error
grep -q "$(basename "$st")" "$T/stderr" || fail "truncated shard not named: $(cat "$T/stderr")"
[ ! -e "$T/shrink.ingot" ] || fail "a failed convert left an output"

# a shard truncated while convert reads it (SIGBUS under the mapping): the
# run either finishes first or fails with one line naming the shard; never a
# crash, never an output
big="$INGOT_MODELS/small-qwen2"
[ -d "$big" ] || big=$model
bus=0
for d in 0.01 0.02 0.04 0.06 0.1 0.15; do
  rm -rf "$T/shrink" "$T/shrink.ingot"
  mkdir "$T/shrink" && find "$big" -maxdepth 1 -type f -exec cp {} "$T/shrink/" \;
  st=$(ls "$T/shrink"/*.safetensors | head -1)
  "$INGOT" convert -q "$T/shrink" -o "$T/shrink.ingot" > "$T/stdout" 2> "$T/stderr" &
  pid=$!
  sleep "$d"
  truncate -s 4096 "$st"
  wait "$pid"
  rc=$?
  checks=$((checks + 1))
  case $rc in
  0) "$INGOT" inspect --verify "$T/shrink.ingot" > /dev/null 2>&1 || fail "shrunk after ${d}s: the output does not verify" ;;
  1) one_line_error
     grep -q "$(basename "$st")" "$T/stderr" || fail "shrunk after ${d}s: shard not named: $(cat "$T/stderr")"
     grep -q "changed while being read" "$T/stderr" && bus=$((bus + 1))
     [ ! -e "$T/shrink.ingot" ] || fail "shrunk after ${d}s: a failed convert left an output"
     [ -z "$(find "$T" -maxdepth 1 -name '.shrink.ingot.tmp.*')" ] || fail "shrunk after ${d}s: a temporary was left" ;;
  *) fail "shrunk after ${d}s: convert exited $rc" ;;
  esac
done
echo "shard truncated during convert: $bus of 6 runs were stopped by SIGBUS with a one-line error"

echo "$checks passed, 0 failed"
