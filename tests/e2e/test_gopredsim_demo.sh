#!/usr/bin/env bash
# `lookup --scoring gopredsim` on the bundled demo equals an independent NumPy implementation of
# goPredSim's rules (tools/gopredsim_check.py) line for line, for cosine and Euclidean and several k.
# Skips (exit 0 with a message) when no python3 with h5py + numpy is available.
. "$(dirname "$0")/common.sh"
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
cd "$WORK"
mkdir demo && cp -r "$SRC/demo/." demo/
export FC_BIN
if bash demo/run-demo.sh >run1.log 2>&1; then ok "demo runs"; else bad "demo failed: $(tail -5 run1.log)"; finish; exit 1; fi
exp=$(ls -d demo-out/experiments/demo_* | head -1)
for cfg in "1 cosine" "5 cosine" "1 euclidean" "3 euclidean"; do
  set -- $cfg
  rm -rf lk
  if ! "$FC_BIN" lookup -q -e "$exp/embeddings.h5" -r demo-out/reference.db -o lk --scoring gopredsim \
    --ontology demo/go_subset.obo -k "$1" --metric "$2" >lk.log 2>&1; then
    bad "lookup k=$1 $2 failed: $(tail -3 lk.log)"
    continue
  fi
  if "${py[@]}" "$SRC/tools/gopredsim_check.py" demo-out/reference_embeddings.h5 "$exp/embeddings.h5" \
    demo/reference_annotations.tsv demo/go_subset.obo "$1" "$2" kmer 0 lk/predictions/kmer_L0.tsv >chk.log 2>&1; then
    ok "k=$1 $2: $(head -1 chk.log)"
  else
    bad "k=$1 $2: $(cat chk.log)"
  fi
done
finish
