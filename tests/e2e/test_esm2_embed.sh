#!/usr/bin/env bash
# fantasia-c embed with an ESM-2 model directory (the tiny random-weight fixture tests/fixtures/esm2, whose
# numbers are checked against HF in test_esm2): demo/queries.fasta[:3], --layers 0,1, type_ESM/layer_k with
# the pooling name recorded, resume, a custom --model-name, and clean errors for bad layer indices / models.
source "$(dirname "$0")/common.sh"
M=$SRC/tests/fixtures/esm2
Q=$SRC/demo/queries.fasta
O=$WORK/emb.h5
if "$FC_BIN" embed --model "$M" --layers 0,1 --limit 3 -i "$Q" -o "$O" 2>"$WORK/err1.txt"; then
  ok "embed ESM-2 exits 0"
else
  bad "embed ESM-2 failed: $(cat "$WORK/err1.txt")"
fi
n_acc=$(h5ls "$O" | grep -c '^accession_')
[ "$n_acc" -eq 3 ] && ok "3 accessions" || bad "expected 3 accessions, got $n_acc"
first=$(h5ls "$O" | grep '^accession_' | head -1 | cut -d' ' -f1)
for k in 0 1; do
  if h5ls "$O/$first/type_ESM/layer_$k/embedding" 2>/dev/null | grep -q '{32}'; then
    ok "layer_$k has 32 values"
  else
    bad "layer_$k missing or not 32-long: $(h5ls -r "$O/$first" 2>&1 | head -5)"
  fi
done
if h5dump -a "/$first/type_ESM/pooling" "$O" | grep -q '"esm2-mean-residues"'; then
  ok "pooling attribute esm2-mean-residues"
else
  bad "pooling attribute: $(h5dump -a "/$first/type_ESM/pooling" "$O" 2>&1 | head -5)"
fi
l0=$(h5dump -d "/$first/type_ESM/layer_0/embedding" "$O" | grep -A3 DATA | tail -3)
l1=$(h5dump -d "/$first/type_ESM/layer_1/embedding" "$O" | grep -A3 DATA | tail -3)
[ -n "$l0" ] && [ "$l0" != "$l1" ] && ok "layer 0 and layer 1 differ" || bad "layer 0 equals layer 1 or is empty"
if grep -qi 'nan\|inf' <<<"$l0$l1"; then bad "non-finite values"; else ok "finite values"; fi
no_partial "$WORK" "ESM-2 embed"
# characters outside the amino-acid alphabet are embedded (as <unk>) but counted and reported
printf ">odd\nMKJJTA\n>fine\nMKT\n" >"$WORK/odd.fa"
"$FC_BIN" embed --model "$M" -i "$WORK/odd.fa" -o "$WORK/odd.h5" 2>"$WORK/odd.txt" &&
  grep -q "1 sequence holds 2 characters outside the amino-acid alphabet.*odd ('J' at 3)" "$WORK/odd.txt" &&
  [ "$(h5ls "$WORK/odd.h5" | grep -c '^accession_')" = 2 ] && ok "non-residue characters counted and reported" ||
  bad "non-residue report: $(cat "$WORK/odd.txt")"
# resume: a second run keeps everything and adds nothing
before=$(h5dump -d "/$first/type_ESM/layer_0/embedding" "$O" | md5sum)
"$FC_BIN" embed --model "$M" --layers 0,1 --limit 3 -i "$Q" -o "$O" 2>"$WORK/err2.txt" && grep -q 'already in' "$WORK/err2.txt" &&
  [ "$(h5dump -d "/$first/type_ESM/layer_0/embedding" "$O" | md5sum)" = "$before" ] && ok "resume keeps vectors" ||
  bad "resume: $(cat "$WORK/err2.txt")"
# another name, the deepest index (embedding output)
"$FC_BIN" embed --model "$M" --model-name esm2_tiny --layers 3 --limit 1 -i "$Q" -o "$WORK/b.h5" 2>/dev/null &&
  h5ls "$WORK/b.h5/$first/type_esm2_tiny/layer_3" >/dev/null 2>&1 && ok "--model-name and --layers 3" ||
  bad "--model-name esm2_tiny --layers 3"
expect_fail "layer index past the last" "layer index 4 outside 0..3" \
  "$FC_BIN" embed --model "$M" --layers 4 -i "$Q" -o "$WORK/c.h5"
expect_fail "bad --layers value" "--layers" "$FC_BIN" embed --model "$M" --layers 0,x -i "$Q" -o "$WORK/c.h5"
expect_fail "not a model" "neither the built-in" "$FC_BIN" embed --model "$WORK/nothing" -i "$Q" -o "$WORK/c.h5"
finish
