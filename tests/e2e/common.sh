# shared helpers for the end-to-end CLI tests (sourced)
set -uo pipefail
FC_BIN=${FC_BIN:?FC_BIN not set (run through ctest)}
SRC=${FC_SOURCE_DIR:?}
export FANTASIA_NO_PROGRESS=1
WORK=$(mktemp -d /tmp/fc-e2e-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
# expect_fail NAME PATTERN CMD...: non-zero exit, one stderr line matching PATTERN
expect_fail() {
  local name=$1 pat=$2
  shift 2
  local err
  if "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"; then
    bad "$name: exited 0"
    return
  fi
  if ! grep -q -- "$pat" "$WORK/err.txt"; then
    bad "$name: stderr does not mention '$pat': $(head -c 400 "$WORK/err.txt")"
    return
  fi
  if [ "$(grep -c 'error' "$WORK/err.txt")" -gt 1 ]; then
    bad "$name: more than one error line: $(cat "$WORK/err.txt")"
    return
  fi
  ok "$name"
}
finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
# no leftover temporary or partial files below a folder
no_partial() {
  local left
  left=$(find "$1" -name '*.tmp.*' -o -name '*.partial' 2>/dev/null | head -3)
  if [ -n "$left" ]; then bad "$2: partial files left: $left"; else ok "$2: no partial files"; fi
}
