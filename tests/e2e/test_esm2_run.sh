#!/usr/bin/env bash
# The whole pipeline with an ESM-2 model directory (tiny random-weight fixture): embed the first 80 demo
# reference proteins with --layers 0,1, build a reference store (one embedding type, two layers), then
# `fantasia-c run` with a config whose model has `path: <model dir>` and layer_index [0, 1].
source "$(dirname "$0")/common.sh"
M=$SRC/tests/fixtures/esm2
D=$SRC/demo
cd "$WORK"
awk '/^>/{n++} n<=80' "$D/reference.fasta" >ref80.fasta
if "$FC_BIN" -q embed --model "$M" --layers 0,1 -i ref80.fasta -o ref.h5 2>err.txt; then
  ok "embed 80 reference proteins"
else
  bad "embed reference: $(cat err.txt)"
fi
if "$FC_BIN" -q reference build --fasta ref80.fasta --annotations "$D/reference_annotations.tsv" \
  --ontology "$D/go_subset.obo" --embeddings ref.h5 --evidence all -o ref.db 2>err.txt; then
  ok "reference build from a two-layer ESM file"
else
  bad "reference build: $(cat err.txt)"
fi
"$FC_BIN" reference info ref.db >info.txt 2>&1
[ "$(grep -cE '^  ESM +type_id 1 +layer [01] +dim 32 .*pooling esm2-mean-residues' info.txt)" = 2 ] &&
  ok "store: ESM (type 1) layers 0 and 1, dim 32" || bad "store spaces: $(cat info.txt)"
sed -e "s#^input:.*#input: $D/queries.fasta#" -e "s#^base_directory:.*#base_directory: $WORK/out#" \
  -e "s#^reference:.*#reference: $WORK/ref.db#" -e "s#^    kmer: .*#    ESM:\n      path: $M#" \
  -e "s#layer_index: \[0\]#layer_index: [0, 1]#" "$D/config.yaml" >config.yaml
grep -q "path: $M" config.yaml || bad "config rewrite failed"
if exp=$("$FC_BIN" -q run --config config.yaml 2>err.txt); then ok "run with an ESM-2 model"; else bad "run: $(cat err.txt)"; fi
h=$(head -1 "$exp/summary.csv" 2>/dev/null)
grep -q 'final_score_ESM_L0' <<<"$h" && grep -q 'final_score_ESM_L1' <<<"$h" && ok "summary has ESM L0 and L1 scores" ||
  bad "summary header: $h"
[ "$(h5ls "$exp/embeddings.h5" | grep -c '^accession_')" = 33 ] && ok "33 query embeddings" || bad "query embeddings"
[ "$(tail -n +2 "$exp/raw_results.tsv" | wc -l)" -gt 0 ] && ok "raw results" || bad "no raw results"
no_partial "$WORK" "ESM-2 run"
finish
