#!/usr/bin/env bash
# `run` with the prediction files and a configured ground truth, on the bundled demo: predictions/ and
# cafa/ are written (FANTASIA max-RI and goPredSim scoring), and the run ends with evaluation files in the
# experiment folder with CAFA-evaluator's columns. The ground truth is a smoke-test one: for four demo
# queries, their first predicted term plus three terms of a reference protein (A0Q481).
. "$(dirname "$0")/common.sh"
cd "$WORK"
mkdir demo && cp -r "$SRC/demo/." demo/
export FC_BIN
if bash demo/run-demo.sh >run1.log 2>&1; then ok "demo runs"; else bad "demo failed: $(tail -5 run1.log)"; finish; exit 1; fi
exp=$(ls -d demo-out/experiments/demo_* | head -1)
p="$exp/predictions/kmer_L0.tsv"
c="$exp/cafa/kmer_L0.txt"
[ -s "$p" ] && ok "predictions TSV written" || bad "no $p"
[ -s "$c" ] && ok "CAFA file written" || bad "no $c"
awk -F'\t' 'NF!=3 || $2 !~ /^GO:[0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/ || $3 !~ /^[01]\.[0-9][0-9][0-9][0-9]$/ {exit 1}' "$p" \
  && ok "predictions: target term score (4 decimals)" || bad "predictions format: $(head -3 "$p")"
head -3 "$c" | tr '\n' '|' | grep -q '^AUTHOR	fantasia.c|MODEL	1|KEYWORDS	.*\.|$' && ok "CAFA header" || bad "CAFA header: $(head -3 "$c")"
[ "$(tail -1 "$c")" = END ] && ok "CAFA END" || bad "CAFA file does not end with END"
sed '1,3d;$d' "$c" | awk -F'\t' 'NF!=3 || $3 !~ /^[01]\.[0-9][0-9]$/ || $3 == "0.00" {exit 1}' \
  && ok "CAFA lines: 2 decimals, no zeros" || bad "CAFA lines: $(sed -n 4,6p "$c")"
# max RI per (query, term) equals the raw rows' maximum for one pair
t1=$(head -1 "$p" | cut -f1); g1=$(head -1 "$p" | cut -f2); s1=$(head -1 "$p" | cut -f3)
m1=$(awk -F'\t' -v a="$t1" -v g="$g1" 'NR==1{for(i=1;i<=NF;i++) h[$i]=i; next}
  $h["accession"]==a && $h["go_id"]==g && $h["reliability_index"]>m {m=$h["reliability_index"]} END{printf "%.4f", m}' \
  "$exp/raw_results.tsv")
[ "$s1" = "$m1" ] && ok "prediction score = max RI of the raw rows ($s1)" || bad "score $s1 vs raw max $m1"

for t in $(cut -f1 "$p" | uniq | head -4); do
  grep "^$t	" "$p" | head -1 | cut -f1,2
  grep "^A0Q481	" demo/reference_annotations.tsv | head -3 | cut -f2 | sed "s/^/$t\t/"
done >gt.tsv
for scoring in fantasia gopredsim; do
  if "$FC_BIN" run --config demo/config.yaml --ontology demo/go_subset.obo --scoring $scoring \
    --ground_truth gt.tsv --prefix ev_$scoring >ev_$scoring.log 2>&1; then
    ok "$scoring run with a ground truth"
  else
    bad "$scoring run with a ground truth failed: $(tail -3 ev_$scoring.log)"
    continue
  fi
  e=$(ls -d demo-out/experiments/ev_${scoring}_* | head -1)
  for f in evaluation_all.tsv evaluation_best_f.tsv evaluation_best_s.tsv evaluation_best_f_micro.tsv; do
    [ -s "$e/$f" ] && ok "$scoring: $f" || bad "$scoring: no $f"
  done
  head -1 "$e/evaluation_all.tsv" | grep -qx $'filename\tns\ttau\tn\ttp\tfp\tfn\tpr\trc\tcov\tmi\tru\tf\ts\tpr_micro\trc_micro\tf_micro' \
    && ok "$scoring: evaluation_all columns" || bad "$scoring: evaluation_all header: $(head -1 "$e/evaluation_all.tsv")"
  head -1 "$e/evaluation_best_f.tsv" | grep -q $'\tf_micro\tcov_max$' && ok "$scoring: best_f columns" \
    || bad "$scoring: best_f header: $(head -1 "$e/evaluation_best_f.tsv")"
  n=$(tail -n +2 "$e/evaluation_best_f.tsv" | cut -f2 | sort -u | wc -l)
  [ "$n" -ge 2 ] && ok "$scoring: $n namespaces evaluated" || bad "$scoring: only $n namespaces evaluated"
  grep -q "evaluation: kmer_L0.tsv .*Fmax" "ev_$scoring.log" && ok "$scoring: Fmax logged" || bad "$scoring: no Fmax in the log"
done
# goPredSim files: 2 decimals
e=$(ls -d demo-out/experiments/ev_gopredsim_* | head -1)
awk -F'\t' 'NF!=3 || $3 !~ /^[01]\.[0-9][0-9]$/ {exit 1}' "$e/predictions/kmer_L0.tsv" \
  && ok "gopredsim predictions: 2 decimals" || bad "gopredsim predictions: $(head -3 "$e/predictions/kmer_L0.tsv")"
# a missing ground truth / gopredsim without ontology: one clear error, before any work
expect_fail "missing ground truth" "no such file" "$FC_BIN" run --config demo/config.yaml --ontology demo/go_subset.obo \
  --ground_truth nothere.tsv
expect_fail "gopredsim without ontology" "ontology" "$FC_BIN" run --config demo/config.yaml --scoring gopredsim
expect_fail "lookup: unknown scoring" "fantasia or gopredsim" "$FC_BIN" lookup -e "$exp/embeddings.h5" \
  -r demo-out/reference.db -o lk --scoring best
expect_fail "lookup: --propagate without ontology" "needs --ontology" "$FC_BIN" lookup -e "$exp/embeddings.h5" \
  -r demo-out/reference.db -o lk --propagate
expect_fail "run: bad lookup.scoring" "lookup.scoring" "$FC_BIN" run --config demo/config.yaml --lookup.scoring best
# lookup with propagation: every ancestor of a predicted term is predicted with at least its score
"$FC_BIN" lookup -q -e "$exp/embeddings.h5" -r demo-out/reference.db -o lkp --ontology demo/go_subset.obo \
  --propagate >/dev/null 2>&1 && ok "lookup --propagate" || bad "lookup --propagate failed"
[ "$(wc -l <lkp/predictions/kmer_L0.tsv)" -gt "$(wc -l <"$p")" ] && ok "propagated file is larger" \
  || bad "propagated file is not larger than the plain one"
no_partial demo-out "run with evaluation"
finish
