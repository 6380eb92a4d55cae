#!/usr/bin/env bash
# Files written by our embeddings.h5 writer read back in h5py with the right numbers (f64, f32, and
# f16 bit-exact against numpy's float32->float16 rounding), shape attribute, pooling, sequences.
# Runs `test_embfile --write-sample` (from the build directory) and tools/make_embfile_fixtures.py --verify.
# Skips (exit 0 with a message) when no python3 with h5py + numpy is available.
set -euo pipefail
src=${FC_SOURCE_DIR:?FC_SOURCE_DIR not set}
bin=./test_embfile
[ -x "$bin" ] || { echo "FAIL: $bin not found (run from the build directory)"; exit 1; }
py=()
for cand in "python3" "/usr/bin/python3 -s"; do
  read -r -a c <<<"$cand"
  if command -v "${c[0]}" >/dev/null 2>&1 && "${c[@]}" -c 'import h5py, numpy' >/dev/null 2>&1; then
    py=("${c[@]}")
    break
  fi
done
if [ ${#py[@]} -eq 0 ]; then
  echo "SKIP: no python3 with h5py and numpy (python3 -c 'import h5py' fails)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" --write-sample "$tmp/sample.h5"
[ -f "$tmp/sample.h5" ] && [ ! -e "$tmp/sample.h5.partial" ] || { echo "FAIL: sample not committed"; exit 1; }
"${py[@]}" "$src/tools/make_embfile_fixtures.py" --verify "$tmp/sample.h5"
