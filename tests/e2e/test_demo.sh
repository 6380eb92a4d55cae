#!/usr/bin/env bash
# The README's main job, end to end on the bundled demo, twice: the outputs exist, have the
# expected columns, and are identical between runs (determinism).
. "$(dirname "$0")/common.sh"
cd "$WORK"
mkdir demo && cp -r "$SRC/demo/." demo/
export FC_BIN
if bash demo/run-demo.sh >run1.log 2>&1; then ok "demo runs"; else bad "demo failed: $(tail -5 run1.log)"; finish; exit 1; fi
exp=$(ls -d demo-out/experiments/demo_* | head -1)
for f in embeddings.h5 raw_results.tsv summary.csv sequences.fasta query_index_mapping.csv experiment_config.yaml failed_sequences.tsv; do
  [ -s "$exp/$f" ] && ok "demo wrote $f" || bad "demo did not write $f"
done
ls "$exp"/topgo/ensemble/*.topgo >/dev/null 2>&1 && ok "ensemble TopGO" || bad "no ensemble TopGO files"
ls "$exp"/topgo/kmer/layer_0/*.topgo >/dev/null 2>&1 && ok "per-model TopGO" || bad "no per-model TopGO files"
head -1 "$exp/raw_results.tsv" | grep -q $'^accession\tmodel_name\tembedding_type_id\tlayer_index\tdistance\tgo_id' \
  && ok "raw header" || bad "raw header: $(head -1 "$exp/raw_results.tsv")"
head -1 "$exp/summary.csv" | grep -q '^accession,go_id,term_count,.*final_score_kmer_L0.*,proteins$' \
  && ok "summary header" || bad "summary header: $(head -1 "$exp/summary.csv")"
nq=$(cut -f1 "$exp/raw_results.tsv" | tail -n +2 | sort -u | wc -l)
[ "$nq" -ge 25 ] && ok "$nq of 33 queries annotated" || bad "only $nq queries annotated"
# every summary row has as many fields as the header (no misaligned rows: FANTASIA bug 26)
awk -F, 'NR==1{n=NF} NF!=n{exit 1}' "$exp/summary.csv" && ok "summary rows aligned" || bad "summary rows misaligned"
# second run: same results (lookup re-run on the same embeddings)
sleep 1
"$FC_BIN" run --config demo/config.yaml --only_lookup true --input "$exp/embeddings.h5" --prefix again >run2.log 2>&1 \
  && ok "only_lookup run" || bad "only_lookup run failed: $(tail -3 run2.log)"
exp2=$(ls -d demo-out/experiments/again_* | head -1)
cmp -s "$exp/raw_results.tsv" "$exp2/raw_results.tsv" && ok "raw results identical across runs" || bad "raw results differ"
cmp -s "$exp/summary.csv" "$exp2/summary.csv" && ok "summary identical across runs" || bad "summary differs"
no_partial demo-out "demo"
finish
