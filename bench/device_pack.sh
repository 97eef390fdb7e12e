#!/bin/sh
# device_pack.sh - packs CPU-only builds of ingot (the command, the Check
# suites and the bench tools) with the shared libraries they load into one
# .tar.xz for the GPU machine, which has none of ingot's libraries.
#   sh bench/device_pack.sh OUT.tar.xz SRC_DIR:NAME [SRC_DIR:NAME ...]
# Each SRC_DIR (a source tree, e.g. this one and a worktree of an older
# commit) is configured in SRC_DIR/$BUILD (default build-device) with
# --disable-shared $CONFIGURE (default --without-cuda), so that libingot
# links in statically, and built; its programs land under NAME/ in the
# archive, the libraries under lib/.  For the CUDA backend:
#   BUILD=build-gpu CONFIGURE=--with-cuda NVCC_ARCH='-gencode arch=compute_90,code=sm_90' \
#     sh bench/device_pack.sh .devpack/gpu.tar.xz .:new
# (nvcc here is the GPU machine's version; cuBLAS is not packed: the CUDA
# toolkit there has it, under /usr/local/cuda/lib64.)
# PACK_TESTS (e.g. "test_cuda test_runtime") packs only those Check suites,
# to leave room for a model in the transfer (each suite links libingot in).
# There:  tar xJf OUT.tar.xz && export LD_LIBRARY_PATH=$PWD/lib
set -eu
out=$1; shift
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
for spec in "$@"; do
  src=$(cd "${spec%%:*}" && pwd); name=${spec##*:}
  (cd "$src" && { [ -x configure ] || ./bootstrap; } && mkdir -p "${BUILD:-build-device}" &&
   cd "${BUILD:-build-device}" &&
   { [ -f Makefile ] || ../configure -q --disable-shared ${CONFIGURE:---without-cuda}; } &&
   make -s -j"$(nproc)" && make -s -j"$(nproc)" check TESTS= >/dev/null)
  mkdir -p "$stage/$name/tests" "$stage/$name/bench"
  b="$src/${BUILD:-build-device}"
  cp "$b/ingot" "$stage/$name/"
  for f in "$b"/tests/test_*; do
    [ -x "$f" ] && [ ! -d "$f" ] || continue
    case "$f" in *.o|*.log|*.trs) continue ;; esac
    case " ${PACK_TESTS:-${f##*/}} " in *" ${f##*/} "*) cp "$f" "$stage/$name/tests/" ;; esac
  done
  for f in bench_kernels bench_qkernels make-random-model; do
    [ -x "$b/bench/$f" ] && cp "$b/bench/$f" "$stage/$name/bench/"
  done
done
# every library the programs load, except the C library and the loader
for f in "$stage"/*/ingot "$stage"/*/tests/* "$stage"/*/bench/*; do ldd "$f"; done |
  awk '$3 ~ /^\// { print $3 }' | sort -u |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*|libcuda|libcublas[A-Za-z]*)\.so' |
  while read -r l; do cp -L "$l" "$stage/lib/"; done
tar cJf "$out" -C "$stage" .
ls -la "$out"
