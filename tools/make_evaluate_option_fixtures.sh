#!/bin/bash
# Oracles for the evaluator's options: runs cafaeval 1.2.1 (pip) on the CAFA-evaluator example with IA
# and one option each, keeping evaluation_all.tsv and evaluation_best_f.tsv under
# tests/fixtures/evaluate/expected_opts/<name>/. Checked first: with no option, this cafaeval reproduces
# the stored expected_ia/ tables.
# usage: tools/make_evaluate_option_fixtures.sh PYTHON   (a python with `pip install cafaeval==1.2.1`;
#        made with numpy 2.4.6, pandas 3.1.1)
set -euo pipefail
PY=${1:?python with cafaeval}
D=$(cd "$(dirname "$0")/.." && pwd)/tests/fixtures/evaluate
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$D"
run() { "$PY" -m cafaeval IDPO_disorder_function.obo predictions ground_truth.tsv -ia ia_from_ground_truth.tsv \
  -threads 1 -out_dir "$T/$1" "${@:2}" >/dev/null 2>&1; }
run check
for f in evaluation_all.tsv evaluation_best_f.tsv; do
  python3 - "expected_ia/$f" "$T/check/$f" <<'PY'
import sys
a, b = (sorted(open(p).read().splitlines()) for p in sys.argv[1:])
sys.exit(0 if a == b else "cafaeval here does not reproduce " + sys.argv[1])
PY
done
for cfg in "norm_pred:-norm pred" "norm_gt:-norm gt" "prop_fill:-prop fill" "max_terms_3:-max_terms 3" \
           "no_orphans:-no_orphans" "th_step_0.05:-th_step 0.05"; do
  name=${cfg%%:*}
  # shellcheck disable=SC2086
  run "$name" ${cfg#*:}
  mkdir -p "expected_opts/$name"
  cp "$T/$name/evaluation_all.tsv" "$T/$name/evaluation_best_f.tsv" "expected_opts/$name/"
done
echo "wrote $D/expected_opts"
