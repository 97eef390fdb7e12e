# device_lib.sh - sourced by the scripts that run an archive of
# bench/device_pack.sh on another machine (device_check.sh,
# device_cpu_check.sh, run_gpu_benchmarks.sh).
#
# unpack PACK: unpacks PACK into a new temporary directory, $w, and puts its
# libraries on LD_LIBRARY_PATH, then the CUDA toolkit's (cuBLAS is not packed).
unpack() {
  w=$(mktemp -d)
  tar xJf "$1" -C "$w"
  LD_LIBRARY_PATH="$w/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
}
