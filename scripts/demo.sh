#!/bin/sh
# demo.sh - the main job on the bundled model: build ingot, convert
# models/tiny-llama into an .ingot artifact, inspect and verify it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/scripts/build.sh"
ingot="$top/build/ingot"
out="$top/build/tiny-llama.ingot"
echo "== ingot convert models/tiny-llama -> build/tiny-llama.ingot"
"$ingot" convert "$top/models/tiny-llama" -o "$out"
echo "== ingot inspect --verify build/tiny-llama.ingot"
"$ingot" inspect --verify "$out"
