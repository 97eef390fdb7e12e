# device_lib.sh - sourced by the scripts that run an archive of
# bench/device_pack.sh on another machine (device_check.sh,
# device_cpu_check.sh, run_gpu_benchmarks.sh, compare_gpu_env.sh,
# device_profile.sh).
#
# unpack PACK: unpacks PACK into a new temporary directory, $w, and puts its
# libraries on LD_LIBRARY_PATH, then the CUDA toolkit's (cuBLAS is not packed).
unpack() {
  w=$(mktemp -d)
  tar xJf "$1" -C "$w"
  LD_LIBRARY_PATH="$w/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
}

# jval KEY FILE: the scalar KEY of ingot's --json output in FILE.
jval() { sed -n "s/^ *\"$1\": *\\([^,]*\\),*\$/\\1/p" "$2" | head -1 | tr -d '"'; }
now() { date +%s.%N; }
# secs START: seconds since START (a value of now), one decimal.
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# random_artifacts SHAPE DIR "FORMATS": a random bf16 checkpoint of SHAPE in
# DIR (bench/make-random-model of the unpacked build "new", with
# tiny-llama's tokenizer from the caller's $top), converted to DIR.bf16.ingot
# and quantized to DIR.F.ingot for each other format F; prints each step's
# seconds.
random_artifacts() {
  ra_t=$(now)
  "$w/new/bench/make-random-model" --shape "$1" -o "$2" --tokenizer "$top/models/tiny-llama/tokenizer.json" >/dev/null
  echo "make-random-model: $(secs "$ra_t") s"
  ra_t=$(now); "$w/new/ingot" convert -q "$2" -o "$2.bf16.ingot"; echo "convert: $(secs "$ra_t") s"
  for ra_f in $3; do
    [ "$ra_f" = bf16 ] && continue
    ra_t=$(now); "$w/new/ingot" quantize -q "$2.bf16.ingot" -o "$2.$ra_f.ingot" --type "$ra_f"
    echo "quantize $ra_f: $(secs "$ra_t") s"
  done
}
