#!/bin/sh
# build.sh - installs missing packages, configures and builds ingot in ./build.
# Extra arguments go to ./configure.  Re-running reuses the existing build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/scripts/install-deps.sh"
cd "$top"
[ -x configure ] || ./bootstrap
mkdir -p build
cd build
if [ ! -f Makefile ] || [ "$#" -gt 0 ]; then
  ../configure -q "$@"
fi
make -s -j"$(nproc 2>/dev/null || echo 2)"
