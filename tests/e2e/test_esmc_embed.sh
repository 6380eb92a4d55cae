#!/usr/bin/env bash
# fantasia-c embed with an ESM C checkpoint (the tiny random-weight fixture tests/fixtures/esmc, checked
# against EvolutionaryScale's esm package in test_esmc): the hub directory and the .pth file itself give
# type_ESM3c/layer_k vectors equal to the golden pooling (mean over residues of hidden_states[-(k+1)], before
# the final norm), pooling "esmc-mean-residues"; an index past the last block is refused.
# The numeric check needs python3 with h5py + numpy (skipped, saying so, without them).
source "$(dirname "$0")/common.sh"
M=$SRC/tests/fixtures/esmc
Q=$WORK/q.fasta
printf '>P1 normal\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n>P2 rare\nXUBZO\n>P3 one\nA\n' >"$Q"
O=$WORK/emb.h5
if "$FC_BIN" embed --model "$M" --layers 0,2 -i "$Q" -o "$O" 2>"$WORK/err1.txt"; then
  ok "embed ESM C (hub directory) exits 0"
else
  bad "embed ESM C failed: $(cat "$WORK/err1.txt")"
fi
if "$FC_BIN" embed --model "$M/data/weights/esmc_tiny.pth" --layers 1 -i "$Q" -o "$WORK/f.h5" 2>"$WORK/err2.txt"; then
  ok "embed ESM C (.pth file) exits 0"
else
  bad "embed ESM C .pth failed: $(cat "$WORK/err2.txt")"
fi
py=()
for cand in "python3" "/usr/bin/python3 -s"; do
  read -r -a c <<<"$cand"
  if command -v "${c[0]}" >/dev/null 2>&1 && "${c[@]}" -c 'import h5py, numpy' >/dev/null 2>&1; then
    py=("${c[@]}")
    break
  fi
done
if [ ${#py[@]} -eq 0 ]; then
  echo "SKIP numeric check: no python3 with h5py and numpy"
else
  if out=$("${py[@]}" - "$M" "$O" "$WORK/f.h5" <<'PY' 2>&1
import json, sys, h5py, numpy as np
m, o, f = sys.argv[1:4]
J = json.load(open(m + "/golden.json")); B = np.fromfile(m + "/golden.bin", "<f4")
L, D = J["n_layers"], J["d_model"]
want = {}
for c in J["cases"]:
    a = B[c["offset"]:c["offset"] + c["n_states"] * c["T"] * D].reshape(c["n_states"], c["T"], D)
    want[c["seq"]] = {k: a[L - 1 - k, 1:-1].astype(np.float64).mean(0) for k in range(L)}
n = 0
for path, layers in ((o, (0, 2)), (f, (1,))):
    with h5py.File(path, "r") as h:
        for g in h:
            if not g.startswith("accession_"): continue
            seq = h[g]["sequence"][()]
            seq = seq.decode() if isinstance(seq, bytes) else str(seq)
            t = h[g]["type_ESM3c"]
            pool = t.attrs["pooling"]
            pool = pool.decode() if isinstance(pool, bytes) else str(pool)
            assert pool == "esmc-mean-residues", pool
            for k in layers:
                v = t["layer_%d" % k]["embedding"][()].astype(np.float64)
                w = want[seq][k]
                r = np.abs(v - w).max() / np.abs(w).max()
                assert r <= 1e-4, (path, seq, k, r)
                n += 1
assert n == 9, n
print("ok", n)
PY
  ); then
    ok "vectors equal the golden pooling ($out)"
  else
    bad "vectors vs golden: $out"
  fi
fi
no_partial "$WORK" "ESM C embed"
expect_fail "layer index past the last block" "layer index 3 outside 0..2" \
  "$FC_BIN" embed --model "$M" --layers 3 -i "$Q" -o "$WORK/c.h5"
finish
