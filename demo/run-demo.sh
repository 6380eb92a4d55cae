#!/usr/bin/env bash
# The bundled demo, end to end: embed the 400 reference proteins with the built-in kmer model,
# build the reference store, then run FANTASIA's pipeline on the 33 E. coli queries.
# usage: bash demo/run-demo.sh        (from anywhere; outputs under demo-out/)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FC_BIN:-build/fantasia-c}
mkdir -p demo-out
"$BIN" embed --model kmer -i demo/reference.fasta -o demo-out/reference_embeddings.h5
"$BIN" reference build --fasta demo/reference.fasta --annotations demo/reference_annotations.tsv \
  --ontology demo/go_subset.obo --embeddings demo-out/reference_embeddings.h5 --evidence all \
  -o demo-out/reference.db
exp=$("$BIN" run --config demo/config.yaml)
echo "demo finished: outputs in $exp"
ls "$exp"
