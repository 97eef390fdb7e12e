#!/bin/sh
# demo.sh - the main job on the bundled model: build ingot, convert
# models/tiny-llama into an .ingot artifact, inspect and verify it, generate
# a sample and measure its perplexity on the held-out text.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/scripts/build.sh"
ingot="$top/build/ingot"
model="$top/models/tiny-llama"
out="$top/build/tiny-llama.ingot"

step() { printf '\n== %s\n' "$*"; }

step "ingot convert models/tiny-llama -o build/tiny-llama.ingot"
"$ingot" convert "$model" -o "$out"
step "ingot inspect --verify build/tiny-llama.ingot"
"$ingot" inspect --verify "$out" | sed -n '1,3p;$p'
step "ingot run build/tiny-llama.ingot -p 'def quicksort(arr):' -n 64 --temp 0"
"$ingot" run "$out" -p "def quicksort(arr):" -n 64 --temp 0
step "ingot eval build/tiny-llama.ingot --text models/tiny-llama/eval.txt --chunks 16"
"$ingot" eval "$out" --text "$model/eval.txt" --chunks 16 -q | sed -n '1,2p;$p'
