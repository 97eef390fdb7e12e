# cli_lib.sh - helpers for the command-line test scripts (sourced).
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/ingot-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
: "${INGOT:?INGOT must name the ingot binary}"
: "${top_srcdir:?top_srcdir must be set}"
: "${INGOT_MODELS:=$top_srcdir/../shared/models}"
checks=0

fail() {
  echo "FAIL: $*" >&2
  [ -f "$T/stderr" ] && { echo "--- stderr:" >&2; head -5 "$T/stderr" >&2; }
  exit 1
}

# expect_status N cmd...: runs cmd with output in $T/stdout and $T/stderr
expect_status() {
  want=$1; shift
  "$@" >"$T/stdout" 2>"$T/stderr"
  got=$?
  checks=$((checks + 1))
  [ "$got" -eq "$want" ] || fail "$* exited $got, expected $want"
}

# the last command's error is exactly one line "ingot: ..."
one_line_error() {
  [ "$(wc -l < "$T/stderr")" -eq 1 ] || fail "expected a one-line error, got: $(cat "$T/stderr")"
  grep -q '^ingot: ' "$T/stderr" || fail "error does not start with 'ingot: '"
}

pass() {
  echo "$checks passed, 0 failed"
  exit 0
}
