#!/bin/sh
# install-deps.sh - installs the Debian 12 packages ingot builds and tests with
# (only those missing; uses sudo when not root).
#   --fuzz   also clang and libFuzzer, for configure --enable-fuzzing
set -eu
pkgs="build-essential autoconf automake libtool pkg-config make
      libarchive-dev libjansson-dev libpcre2-dev libutf8proc-dev libxxhash-dev
      libssl-dev check tar"
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
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
