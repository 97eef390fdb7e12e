#!/bin/sh
# quality_curve.sh - KL divergence and top-1 agreement against bits per
# weight of the whole model (embeddings and head counted) for ingot's
# formats and options and for llama.cpp's quantization types, on the test
# models, same text, same chunks and the same predictions scored:
#
#   LLAMA_CPP_BUILD=/path/to/llama.cpp/build sh bench/quality_curve.sh [BUILD] [OUT_DIR]
#
# Per model: ingot converts the checkpoint to bf16 and exports it as GGUF;
# llama-quantize makes each llama.cpp type from that GGUF; llama-perplexity
# saves the bf16 logits (--kl-divergence-base) and scores each type against
# them (--kl-divergence: "Mean KLD", "Same top p").  ingot quantizes the
# bf16 artifact each way and `ingot eval --ref bf16.ingot --score-from 256`
# scores the same predictions llama-perplexity does (positions 256..510 of
# each 512-token chunk of eval.txt, tokenized without BOS).  Bits per weight:
# 8 x the bytes of the tensors / the parameters (ingot: quantize --json's
# bits_per_weight; llama.cpp: llama-quantize's "quant size").
#
# Environment: MODELS (default "tiny-llama small-qwen2"), CHUNKS (default:
# all), LLAMA_TYPES, INGOT_CONFIGS (name=options;...), THREADS (default 2),
# LLAMA_IMATRIX (non-empty: llama.cpp's types are made with an importance
# matrix from llama-imatrix on the model's calib.txt, 64 chunks of 512).
# Writes OUT_DIR/curve.md (a Markdown table per model) and
# OUT_DIR/<model>.svg (KLD against bits per weight, log scale).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
out=${2:-$build/quality-curve}
ingot="$build/ingot"
: "${LLAMA_CPP_BUILD:?set LLAMA_CPP_BUILD to a llama.cpp build with llama-quantize and llama-perplexity}"
lbin=$LLAMA_CPP_BUILD/bin
[ -x "$lbin/llama-quantize" ] || lbin=$LLAMA_CPP_BUILD
threads=${THREADS:-2}
chunks=${CHUNKS:+--chunks $CHUNKS}
models_dir=${INGOT_MODELS:-$top/../shared/models}
llama_types=${LLAMA_TYPES:-Q8_0 Q6_K Q5_K_M Q4_K_M Q4_K_S Q4_0 IQ4_NL}
# name=quantize options, ';'-separated
configs=${INGOT_CONFIGS:-"int8=--type int8;nf4=--type nf4;nf4-dq=--type nf4 --double-quant;int4=--type int4;int4-g64=--type int4 --group-size 64;int4-g32=--type int4 --group-size 32;awq4=--type awq4 CALIB;awq4-g64=--type awq4 --group-size 64 CALIB;awq4-g32=--type awq4 --group-size 32 CALIB;awq4-g32-emb4-head8=--type awq4 --group-size 32 --embed-type int4 --head-type int8 CALIB;awq4-g64-emb8-head8=--type awq4 --group-size 64 --embed-type int8 --head-type int8 CALIB"}
mkdir -p "$out"
jval() { sed -n "s/^ *\"$1\": *\\([^,]*\\),*\$/\\1/p" "$2" | head -1 | tr -d '"'; }
dir_of() { if [ "$1" = tiny-llama ]; then echo "$top/models/tiny-llama"; else echo "$models_dir/$1"; fi; }

# svg MODEL ROWS_FILE: rows "tool name bpw kld"; log-scale KLD over bpw
svg() {
  awk -v title="$1" 'BEGIN { W = 640; H = 420; L = 60; R = 20; T = 30; B = 50 }
    $4 + 0 > 0 { n++; tool[n] = $1; name[n] = $2; x[n] = $3; y[n] = log($4) / log(10)
      if (n == 1 || $3 < x0) x0 = $3; if (n == 1 || $3 > x1) x1 = $3
      if (n == 1 || y[n] < y0) y0 = y[n]; if (n == 1 || y[n] > y1) y1 = y[n] }
    END {
      x0 = int(x0) - 0.5; x1 = int(x1) + 1; y0 = int(y0) - 1; y1 = int(y1) + (y1 > int(y1))
      printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", W, H
      printf "<text x=\"%d\" y=\"18\" font-size=\"13\">%s: KL divergence against bf16 vs bits per weight (whole model)</text>\n", L, title
      printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", L, T, W - L - R, H - T - B
      for (v = y0; v <= y1; v++) { py = T + (H - T - B) * (y1 - v) / (y1 - y0)
        printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n", L, W - R, py, py, L - 4, py + 4, v }
      for (v = int(x0) + 1; v <= x1; v++) { px = L + (W - L - R) * (v - x0) / (x1 - x0)
        printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", px, px, T, H - B, px, H - B + 14, v }
      printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">bits per weight</text>\n", (L + W - R) / 2, H - 12
      for (i = 1; i <= n; i++) {
        px = L + (W - L - R) * (x[i] - x0) / (x1 - x0); py = T + (H - T - B) * (y1 - y[i]) / (y1 - y0)
        c = tool[i] == "ingot" ? "#c0392b" : "#2c3e50"
        if (tool[i] == "ingot") printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>", px, py, c
        else printf "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" fill=\"%s\"/>", px - 3.5, py - 3.5, c
        printf "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>\n", px + 6, py - 4, c, name[i] }
      printf "<text x=\"%d\" y=\"%d\" fill=\"#c0392b\">o ingot</text><text x=\"%d\" y=\"%d\" fill=\"#2c3e50\">[] llama.cpp</text>\n", W - 160, T + 16, W - 90, T + 16
      print "</svg>" }' "$2" > "$out/$1.svg"
}

{
echo "# Quality against size ($(date -u +%Y-%m-%d), ${CHUNKS:-all} chunks of 512, positions 256..510)"
for m in ${MODELS:-tiny-llama small-qwen2}; do
  d=$(dir_of "$m")
  [ -d "$d" ] || { echo "skipping $m: $d not found" >&2; continue; }
  w="$out/$m"; mkdir -p "$w"; rows="$w/rows.txt"; : > "$rows"
  "$ingot" convert -q "$d" -o "$w/bf16.ingot"
  params=$("$ingot" quantize "$w/bf16.ingot" -o "$w/probe.ingot" --type int8 --json -q | sed -n 's/^ *"params": \([0-9]*\),/\1/p')
  rm -f "$w/probe.ingot"
  echo; echo "## $m ($params parameters)"; echo
  echo "| tool | format | bits/weight | KLD mean | top-1 % |"
  echo "|---|---|---|---|---|"
  # llama.cpp
  "$ingot" export -q "$w/bf16.ingot" -o "$w/bf16.gguf" --format gguf
  "$lbin/llama-perplexity" -m "$w/bf16.gguf" -f "$d/eval.txt" -c 512 -b 512 -t "$threads" $chunks \
    --kl-divergence-base "$w/bf16.kld" > "$w/base.log" 2>&1
  imat=
  if [ -n "${LLAMA_IMATRIX:-}" ]; then # llama.cpp's importance matrix from the same calibration text
    "$lbin/llama-imatrix" -m "$w/bf16.gguf" -f "$d/calib.txt" -c 512 --chunks 64 -t "$threads" \
      -o "$w/imatrix.gguf" > "$w/imatrix.log" 2>&1
    imat="--imatrix $w/imatrix.gguf"
  fi
  for t in $llama_types; do
    "$lbin/llama-quantize" $imat "$w/bf16.gguf" "$w/$t.gguf" "$t" "$threads" > "$w/$t.quant.log" 2>&1
    mb=$(sed -n 's/.*quant size *= *\([0-9.]*\) MiB.*/\1/p' "$w/$t.quant.log" | tail -1)
    for try in 1 2 3; do # llama-perplexity's KLD report sometimes stops short here: run it again
      "$lbin/llama-perplexity" -m "$w/$t.gguf" -f "$d/eval.txt" -c 512 -b 512 -t "$threads" $chunks \
        --kl-divergence-base "$w/bf16.kld" --kl-divergence > "$w/$t.kld.log" 2>&1 || true
      kld=$(sed -n 's/^Mean *KLD: *\([0-9.e+-]*\).*/\1/p' "$w/$t.kld.log" | head -1)
      top=$(sed -n 's/^Same top p: *\([0-9.]*\).*/\1/p' "$w/$t.kld.log" | head -1)
      [ -n "$top" ] && break
    done
    bpw=$(awk -v mb="$mb" -v p="$params" 'BEGIN { printf "%.2f", 8 * mb * 1048576 / p }')
    echo "| llama.cpp | $t | $bpw | $kld | $top |"
    echo "llama.cpp $t $bpw $kld" >> "$rows"
    rm -f "$w/$t.gguf"
  done
  # ingot
  echo "$configs" | tr ';' '\n' | while IFS='=' read -r name opts; do
    [ -n "$name" ] || continue
    # shellcheck disable=SC2086
    set -- $opts
    args=""
    for a in "$@"; do [ "$a" = CALIB ] && args="$args --calib $d/calib.txt" || args="$args $a"; done
    # shellcheck disable=SC2086
    "$ingot" quantize "$w/bf16.ingot" -o "$w/$name.ingot" $args --json -q > "$w/$name.q.json"
    # shellcheck disable=SC2086
    "$ingot" eval "$w/$name.ingot" --ref "$w/bf16.ingot" --text "$d/eval.txt" --score-from 256 $chunks \
      -t "$threads" --json -q > "$w/$name.eval.json"
    bpw=$(awk -v b="$(jval bits_per_weight "$w/$name.q.json")" 'BEGIN { printf "%.2f", b }')
    kld=$(jval kld_mean "$w/$name.eval.json")
    top=$(awk -v t="$(jval top1 "$w/$name.eval.json")" 'BEGIN { printf "%.2f", t }')
    echo "| ingot | $name | $bpw | $kld | $top |"
    echo "ingot $name $bpw $kld" >> "$rows"
  done
  svg "$m" "$rows"
done
} | tee "$out/curve.md"
