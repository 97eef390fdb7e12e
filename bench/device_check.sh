#!/bin/sh
# device_check.sh - builds and runs the CUDA backend's smoke test on a GPU
# machine (which has nvcc but none of ingot's other libraries).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
printf '#define PACKAGE_VERSION "0.1.0"\n#define _GNU_SOURCE 1\n' > "$tmp/config.h"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nvcc -O2 -std=c++17 -arch=native -I"$tmp" -I"$top/include" -I"$top" -x cu "$top/kernels/cuda/cuda_backend.cu" \
  -x c "$top/util/error.c" -x c "$top/bench/cuda_smoke.c" -o "$tmp/cuda_smoke" -ldl
"$tmp/cuda_smoke"
