#!/bin/sh
# check_layers.sh - fails when a source file includes a header from a folder
# that tests/layers.txt does not allow its folder to use (an upward or
# sideways dependency), or when a library folder is missing from that list.
# Usage: sh tests/check_layers.sh [TOP_SRCDIR]
set -eu
top=${1:-${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}}
cd "$top"
awk -v rules=tests/layers.txt '
  BEGIN {
    while ((getline line < rules) > 0) {
      sub(/#.*/, "", line)
      if (line !~ /:/) continue
      folder = line; sub(/:.*/, "", folder); gsub(/[ \t]/, "", folder)
      rest = line; sub(/^[^:]*:/, "", rest)
      known[folder] = 1
      n = split(rest, to, /[ \t]+/)
      for (i = 1; i <= n; i++) if (to[i] != "") allow[folder, to[i]] = 1
    }
    bad = 0
  }
  # the folder of a path: its first component, or the first two for kernels/
  function folder_of(p,   parts, n) {
    n = split(p, parts, "/")
    if (n < 2) return ""
    if ((parts[1] == "kernels" || parts[1] == "tests") && n >= 3) return parts[1] "/" parts[2]
    return parts[1]
  }
  FNR == 1 {
    src = folder_of(FILENAME)
    if (!(src in known)) {
      printf "%s: folder %s is not in tests/layers.txt\n", FILENAME, src; bad = 1
    }
  }
  /^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
    if (inc == "ingot.h" || inc == "config.h" || inc !~ /\//) next
    dst = folder_of(inc)
    if (dst == "include") next
    if (dst == src || allow[src, dst]) next
    printf "%s:%d: includes %s: %s may not use %s (tests/layers.txt)\n", FILENAME, FNR, inc, src, dst
    bad = 1
  }
  END { exit bad }
' $(find util model formats kernels artifact tokenizer chat runtime convert quant export cli bench tests/fuzz \
      -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' \) | sort)
echo "check_layers: every #include follows tests/layers.txt"
