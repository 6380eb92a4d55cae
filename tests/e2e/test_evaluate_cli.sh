#!/usr/bin/env bash
# fantasia-c evaluate and ia end to end on the CAFA-evaluator example: outputs equal cafaeval 1.2.1's
# (rows compared as sets: cafaeval writes them in os.walk order), IA equals compute_ia.py's, bad input
# gives one error line and the right exit code, counts of damaged lines are reported.
. "$(dirname "$0")/common.sh"
F=$SRC/tests/fixtures/evaluate
cd "$WORK"
same_rows() { cmp -s <(sort "$1") <(sort "$2"); }

"$FC_BIN" evaluate --ontology "$F/IDPO_disorder_function.obo" --ground-truth "$F/ground_truth.tsv" \
  --predictions "$F/predictions" --ia "$F/ia_from_ground_truth.tsv" -o out >table.txt 2>log.txt \
  && ok "evaluate runs" || bad "evaluate failed: $(tail -3 log.txt)"
for f in evaluation_all.tsv evaluation_best_f.tsv evaluation_best_s.tsv evaluation_best_f_micro.tsv \
         evaluation_best_f_w.tsv evaluation_best_f_micro_w.tsv; do
  same_rows "$F/expected_ia/$f" "out/$f" && ok "$f equals cafaeval's" || bad "$f differs from cafaeval's"
done
grep -q '^pred_4.tsv .* 0.776 ' table.txt && ok "table shows Fmax" || bad "table: $(head -3 table.txt)"
no_partial out "evaluate"

"$FC_BIN" evaluate --ontology "$F/IDPO_disorder_function.obo" --ground-truth "$F/ground_truth.tsv" \
  --predictions "$F/predictions/pred_3.tsv" -o one >/dev/null 2>&1 && ok "single prediction file" || bad "single file failed"
grep -c '^pred_3.tsv' one/evaluation_all.tsv | grep -qx 99 && ok "99 thresholds for pred_3" || bad "pred_3 rows"

"$FC_BIN" ia --ontology "$F/IDPO_disorder_function.obo" --annotations "$F/ground_truth.tsv" -o ia.tsv 2>ia.log \
  && cmp -s ia.tsv "$F/ia_from_ground_truth.tsv" && ok "ia equals compute_ia.py" || bad "ia differs: $(cat ia.log)"

"$FC_BIN" evaluate --help | grep -q 'example' && ok "evaluate --help has an example" || bad "evaluate --help"
"$FC_BIN" ia --help | grep -q 'example' && ok "ia --help has an example" || bad "ia --help"

# damaged predictions: counted and reported, evaluation still done
mkdir bad
printf 'T_1 IDPO:00502 0.9\nT_1 IDPO:00502 0.9\nT_1 IDPO:99999 0.5\nT_2 IDPO:00024 7\nT_2 IDPO:00024 x\nT_2\n' >bad/p.tsv
: >bad/empty.tsv
ln -s /nonexistent bad/dangling.tsv
"$FC_BIN" evaluate --ontology "$F/IDPO_disorder_function.obo" --ground-truth "$F/ground_truth.tsv" \
  --predictions bad -o badout >/dev/null 2>bad.log && ok "damaged predictions evaluated" || bad "damaged: $(tail -2 bad.log)"
grep -q '1 unknown terms' bad.log && grep -q '1 bad scores' bad.log && grep -q '1 duplicates' bad.log \
  && grep -q '1 scores outside' bad.log && grep -q '1 unreadable' bad.log \
  && ok "damaged lines counted" || bad "counts: $(grep predictions bad.log)"

# --plot and --known
"$FC_BIN" evaluate --ontology "$F/IDPO_disorder_function.obo" --ground-truth "$F/ground_truth.tsv" \
  --predictions "$F/predictions" --plot -o plotted >/dev/null 2>&1 && grep -q '<polyline' plotted/pr_disorder_function.svg \
  && grep -c '<polyline' plotted/pr_disorder_function.svg | grep -qx 5 && ok "--plot: 5 curves" || bad "--plot"
head -20 "$F/ground_truth.tsv" >known.tsv
"$FC_BIN" evaluate --ontology "$F/IDPO_disorder_function.obo" --ground-truth "$F/ground_truth.tsv" \
  --predictions "$F/predictions/pred_1.tsv" --known known.tsv -o known >/dev/null 2>known.log \
  && grep -q 'known disorder_function: .* of 168 targets' known.log && ok "--known" || bad "--known: $(tail -3 known.log)"
"$FC_BIN" evaluate -q --ontology "$F/IDPO_disorder_function.obo" --ground-truth "$F/ground_truth.tsv" \
  --predictions "$F/predictions/pred_1.tsv" -o noknown >/dev/null 2>&1
cmp -s known/evaluation_all.tsv noknown/evaluation_all.tsv && bad "--known changed nothing" || ok "--known changes the result"

expect_fail "missing ontology" "go.obo" "$FC_BIN" evaluate --ontology /nonexistent/go.obo --ground-truth "$F/ground_truth.tsv" --predictions bad -o x
expect_fail "bad norm" "norm" "$FC_BIN" evaluate --ontology a --ground-truth b --predictions c -o d --norm foo
expect_fail "bad step" "th-step" "$FC_BIN" evaluate --ontology a --ground-truth b --predictions c -o d --th-step 2
expect_fail "nothing to evaluate" "nothing to evaluate" "$FC_BIN" evaluate --ontology "$F/IDPO_disorder_function.obo" \
  --ground-truth "$F/ground_truth.tsv" --predictions bad/empty.tsv -o e
expect_fail "ia without output" "required" "$FC_BIN" ia --ontology a --annotations b
finish
