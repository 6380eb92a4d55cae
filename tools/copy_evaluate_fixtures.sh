#!/bin/sh
# Copies the CAFA-evaluator conformance set into tests/fixtures/evaluate (see its README.md).
set -eu
S=${FANTASIA_DATA:-../shared/data}/cafaeval_example
D=tests/fixtures/evaluate
mkdir -p "$D/predictions" "$D/expected/full_precision" "$D/expected_ia/full_precision"
cp "$S/IDPO_disorder_function.obo" "$S/ground_truth.tsv" "$S/ia_from_ground_truth.tsv" "$D/"
cp "$S"/predictions/*.tsv "$D/predictions/"
for e in expected expected_ia; do
  cp "$S/$e"/*.tsv "$D/$e/"
  cp "$S/$e"/full_precision/*.tsv "$D/$e/full_precision/"
done
chmod -R u+w "$D"
