#!/usr/bin/env bash
# fantasia-c embed with a T5 encoder directory (the tiny random-weight fixture tests/fixtures/t5/relu, whose
# numbers are checked against HF in test_t5): type_T5/layer_k, both --pooling choices (residues by default,
# fantasia = every token with FANTASIA's "<AA2fold> " text) recorded and different,
# and a clean error for a bad --pooling value.
source "$(dirname "$0")/common.sh"
M=$SRC/tests/fixtures/t5/relu
Q=$SRC/demo/queries.fasta
O=$WORK/emb.h5
if "$FC_BIN" embed --model "$M" --layers 0,2 --limit 2 -i "$Q" -o "$O" 2>"$WORK/err1.txt"; then
  ok "embed T5 exits 0"
else
  bad "embed T5 failed: $(cat "$WORK/err1.txt")"
fi
first=$(h5ls "$O" | grep '^accession_' | head -1 | cut -d' ' -f1)
for k in 0 2; do
  h5ls "$O/$first/type_T5/layer_$k/embedding" 2>/dev/null | grep -q '{32}' && ok "layer_$k has 32 values" ||
    bad "layer_$k missing: $(h5ls -r "$O/$first" 2>&1 | head -5)"
done
h5dump -a "/$first/type_T5/pooling" "$O" | grep -q '"t5-mean-residues"' && ok "default pooling t5-mean-residues" ||
  bad "pooling attribute: $(h5dump -a "/$first/type_T5/pooling" "$O" 2>&1 | head -5)"
"$FC_BIN" embed --model "$M" --pooling fantasia --model-name ProtT5 --limit 2 -i "$Q" -o "$WORK/r.h5" 2>"$WORK/err2.txt" &&
  h5dump -a "/$first/type_ProtT5/pooling" "$WORK/r.h5" | grep -q '"t5-mean-all-tokens"' && ok "--pooling fantasia" ||
  bad "--pooling fantasia: $(cat "$WORK/err2.txt")"
a=$(h5dump -d "/$first/type_T5/layer_0/embedding" "$O" | grep -A3 DATA | tail -3)
b=$(h5dump -d "/$first/type_ProtT5/layer_0/embedding" "$WORK/r.h5" | grep -A3 DATA | tail -3)
[ -n "$a" ] && [ "$a" != "$b" ] && ok "the two poolings differ" || bad "poolings equal or empty"
if grep -qi 'nan\|inf' <<<"$a$b"; then bad "non-finite values"; else ok "finite values"; fi
no_partial "$WORK" "T5 embed"
expect_fail "bad --pooling" "--pooling must be" "$FC_BIN" embed --model "$M" --pooling cls -i "$Q" -o "$WORK/c.h5"
expect_fail "layer index past the last" "layer index 3 outside 0..2" \
  "$FC_BIN" embed --model "$M" --layers 3 -i "$Q" -o "$WORK/c.h5"
finish
