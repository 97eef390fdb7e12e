#!/bin/sh
# device_check.sh - builds and runs the CUDA backend's smoke test on a GPU
# machine (which has nvcc but none of ingot's other libraries).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
printf '#define PACKAGE_VERSION "0.1.0"\n#define _GNU_SOURCE 1\n' > "$tmp/config.h"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
inc="-I$tmp -I$top/include -I$top"
nvcc -O2 -std=c++17 -arch=native $inc -c "$top/kernels/cuda/cuda_backend.cu" -o "$tmp/backend.o"
cc -O2 -std=gnu11 $inc -c "$top/util/error.c" -o "$tmp/error.o"
cc -O2 -std=gnu11 $inc -c "$top/bench/cuda_smoke.c" -o "$tmp/smoke.o"
nvcc "$tmp/backend.o" "$tmp/error.o" "$tmp/smoke.o" -o "$tmp/cuda_smoke" -ldl -lm
"$tmp/cuda_smoke"
