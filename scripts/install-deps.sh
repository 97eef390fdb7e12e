#!/bin/sh
# install-deps.sh - installs the Debian 12 packages ingot builds and tests with
# (only those missing; uses sudo when not root), then the Python packages the
# tests need (tests/peer_layouts.py: numpy, and gguf, which Debian does not
# package) with pip, for the user, when they are missing.
#   --fuzz   also clang and libFuzzer, for configure --enable-fuzzing
set -eu
pkgs="build-essential autoconf automake libtool pkg-config make
      libarchive-dev libjansson-dev libpcre2-dev libutf8proc-dev libxxhash-dev
      libssl-dev check tar python3 python3-pip"
for a in "$@"; do
  case "$a" in
    --fuzz) pkgs="$pkgs clang-14 libclang-rt-14-dev libomp-14-dev" ;;
    *) echo "install-deps: unknown option $a" >&2; exit 2 ;;
  esac
done
missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# Python packages for `make check` (tests/cli_peer_layouts.sh fails without them)
pymissing=
for m in numpy gguf; do
  python3 -c "import $m" 2>/dev/null || pymissing="$pymissing $m"
done
[ -z "$pymissing" ] && exit 0
echo "install-deps: pip installing:$pymissing" >&2
# Debian 12 marks its Python externally managed: a --user install needs the override there
# shellcheck disable=SC2086
python3 -m pip install --user -q $pymissing 2>/dev/null ||
  python3 -m pip install --user -q --break-system-packages $pymissing
for m in $pymissing; do
  python3 -c "import $m" || { echo "install-deps: python $m still missing" >&2; exit 1; }
done
