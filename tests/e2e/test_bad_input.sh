#!/usr/bin/env bash
# Bad input, everywhere the CLI takes a file or a value: every case must exit non-zero with ONE
# clear stderr line naming the file/record/option and the cause, and leave no partial outputs.
. "$(dirname "$0")/common.sh"
cd "$WORK"
D=$SRC/demo
F=${FC_FIXTURES:-$SRC/tests/fixtures}
B=$FC_BIN
L=$F/lite/good
mkdir out
# a small valid reference (demo) and query embeddings to damage
"$B" -q embed -i "$D/reference.fasta" -o ref.h5 || { bad "setup: embed reference"; finish; exit 1; }
"$B" -q reference build --fasta "$D/reference.fasta" --annotations "$D/reference_annotations.tsv" \
  --ontology "$D/go_subset.obo" --embeddings ref.h5 --evidence all -o ref.db >/dev/null || { bad "setup: build"; finish; exit 1; }
"$B" -q embed -i "$D/queries.fasta" -o q.h5 || { bad "setup: embed queries"; finish; exit 1; }
RB=(reference build --fasta "$D/reference.fasta" --annotations "$D/reference_annotations.tsv" --ontology "$D/go_subset.obo" --embeddings ref.h5)

# --- damaged HDF5 / embeddings ---
head -c 3000 q.h5 >trunc.h5
expect_fail "truncated HDF5 query file" 'trunc.h5.*truncated' "$B" lookup -e trunc.h5 -r ref.db -o out/l1
expect_fail "truncated HDF5 fixture" 'truncated.h5' "$B" lookup -e "$F/embfile/truncated.h5" -r ref.db -o out/l1b
expect_fail "not an HDF5 file" 'not_hdf5.h5' "$B" lookup -e "$F/embfile/not_hdf5.h5" -r ref.db -o out/l1c
expect_fail "truncated HDF5 reference embeddings" 'trunc.h5' "$B" reference build --fasta "$D/reference.fasta" \
  --annotations "$D/reference_annotations.tsv" --ontology "$D/go_subset.obo" --embeddings trunc.h5 -o out/r_trunc.db
"$B" -q embed -i "$D/queries.fasta" -o q_k2.h5 --kmer-k 2
expect_fail "query/reference dimension mismatch" 'query embeddings have 400 dimensions but the reference store has 8000' \
  "$B" lookup -e q_k2.h5 -r ref.db -o out/l2
expect_fail "NaN in query embeddings" 'nan.h5.*NaN' "$B" lookup -e "$F/embfile/nan.h5" -r ref.db -o out/l3
expect_fail "Inf in query embeddings" 'inf.h5.*Inf' "$B" lookup -e "$F/embfile/inf.h5" -r ref.db -o out/l4
expect_fail "NaN in reference embeddings" 'nan.h5.*NaN' "$B" reference build --fasta "$D/reference.fasta" \
  --annotations "$D/reference_annotations.tsv" --ontology "$D/go_subset.obo" --embeddings "$F/embfile/nan.h5" -o out/r_nan.db
[ ! -e out/r_trunc.db ] && [ ! -e out/r_nan.db ] && ok "failed builds left no store" || bad "failed build left a store"

# --- unknown model / layer ---
expect_fail "unknown model" "asked: NOPE" "$B" lookup -e q.h5 -r ref.db -o out/l5 --model NOPE
expect_fail "unknown layer" "asked: kmer layer 5" "$B" lookup -e q.h5 -r ref.db -o out/l6 --model kmer --layer 5
expect_fail "embed unknown model" "model 'NOPE'" "$B" embed -i "$D/queries.fasta" -o out/e0.h5 --model NOPE
[ -z "$(find out -name '*.tsv' -o -name '*.csv')" ] && ok "failed lookups wrote no results" || bad "failed lookups left results: $(find out -name '*.tsv' -o -name '*.csv')"

# --- FASTA ---
: >empty.fa
expect_fail "empty FASTA" 'empty.fa: no FASTA records' "$B" embed -i empty.fa -o out/e1.h5
printf '>P1 first\nMKVLA\n>P2\nMKLLV\n>P1 again\nMKAAA\n' >dup.fa
expect_fail "duplicate accessions" "dup.fa: duplicate accession 'P1' at lines 1 and 5" "$B" embed -i dup.fa -o out/e2.h5
expect_fail "duplicate accessions (reference)" "dup.fa: duplicate accession 'P1'" "$B" reference build --fasta dup.fa \
  --annotations "$D/reference_annotations.tsv" --ontology "$D/go_subset.obo" --embeddings ref.h5 -o out/r_dup.db
[ -z "$(ls out/e1.h5* out/e2.h5* out/r_dup.db* 2>/dev/null)" ] && ok "no embeddings/store from bad FASTA" || bad "bad FASTA left: $(ls out)"

# --- OBO / GAF ---
printf 'format-version: 1.2\n\n[Term]\nid: GO:0000001\nname: root\nnamespace: biological_process\n\n[Term]\nname: cut' >trunc_stanza.obo
expect_fail "OBO truncated stanza" 'trunc_stanza.obo:8: \[Term\] stanza without an id' "$B" "${RB[@]/$D\/go_subset.obo/trunc_stanza.obo}" -o out/r1.db
printf '[Term]\nid: GO:0000001\nname: root\nnamespace: biological_process\n\n[Ter' >trunc_header.obo
expect_fail "OBO truncated stanza header" 'trunc_header.obo:6' "$B" "${RB[@]/$D\/go_subset.obo/trunc_header.obo}" -o out/r2.db
printf '[Term]\nid: GO:0000001\nname: root\nnamespace: biological_process\n\n[Term]\nid: GO:0000002\nname: kid\nnamespace: biological_process\nis_a: GO:0009999 ! gone\n' >dangling.obo
expect_fail "OBO dangling parent" 'dangling.obo:10: is_a target GO:0009999 is not defined' "$B" "${RB[@]/$D\/go_subset.obo/dangling.obo}" -o out/r3.db
g=$F/e2e/mini.gaf
{ head -3 "$g"; printf 'UniProtKB\tA0Q481\tg\n'; tail -n +4 "$g"; } >bad_line.gaf
expect_fail "GAF line with too few columns" 'bad_line.gaf:4: GAF line with 3 tab-separated columns' \
  "$B" "${RB[@]/$D\/reference_annotations.tsv/bad_line.gaf}" -o out/r4.db
{ head -3 "$g"; printf 'UniProtKB\tA0Q481\tg\tenables\tGOX0006779\tPMID:1\tIDA\t\tP\tn\t\tprotein\ttaxon:1\t2020\tX\t\t\n'; } >bad_go.gaf
expect_fail "GAF line with a bad GO id" "bad_go.gaf:4: bad GO id 'GOX0006779'" \
  "$B" "${RB[@]/$D\/reference_annotations.tsv/bad_go.gaf}" -o out/r5.db
printf 'A0Q481\tGO:0006779\tP\nA0Q481 GO:0006782 P\n' >bad.tsv
expect_fail "annotation TSV with a malformed line" 'bad.tsv:2' "$B" "${RB[@]/$D\/reference_annotations.tsv/bad.tsv}" -o out/r6.db
"$B" -q "${RB[@]/$D\/reference_annotations.tsv/bad_line.gaf}" --skip-bad-lines -o out/lenient.db >/dev/null 2>&1 \
  && ok "--skip-bad-lines builds past the bad line" || bad "--skip-bad-lines failed"
rm -f out/lenient.db
[ -z "$(ls out/r?.db* 2>/dev/null)" ] && ok "no store from bad OBO/GAF" || bad "bad OBO/GAF left: $(ls out)"

# --- missing files, for every input option ---
expect_fail "embed --input missing" 'nope.fa: cannot open' "$B" embed -i nope.fa -o out/m.h5
expect_fail "lookup --embeddings missing" 'nope.h5: cannot open' "$B" lookup -e nope.h5 -r ref.db -o out/m1
expect_fail "lookup --reference missing" 'nope.db: cannot open reference store' "$B" lookup -e q.h5 -r nope.db -o out/m2
expect_fail "lookup --taxonomy-nodes missing" 'nope.dmp: cannot open' "$B" lookup -e q.h5 -r ref.db -o out/m3 --taxonomy-nodes nope.dmp --exclude-taxa 9606
expect_fail "build --fasta missing" 'nope.fa: cannot open' "$B" "${RB[@]/$D\/reference.fasta/nope.fa}" -o out/m.db
expect_fail "build --annotations missing" 'nope.gaf: cannot open' "$B" "${RB[@]/$D\/reference_annotations.tsv/nope.gaf}" -o out/m.db
expect_fail "build --ontology missing" 'nope.obo: cannot open' "$B" "${RB[@]/$D\/go_subset.obo/nope.obo}" -o out/m.db
expect_fail "build --embeddings missing" 'nope.h5: cannot open' "$B" "${RB[@]/ref.h5/nope.h5}" -o out/m.db
expect_fail "build --taxonomy missing" 'nope.tsv: cannot open' "$B" "${RB[@]}" --taxonomy nope.tsv -o out/m.db
expect_fail "import-lite --lookup-npz missing" 'nope.npz' "$B" reference import-lite --lookup-npz nope.npz \
  --annotations-json "$L/annotations.json" --accessions-json "$L/accessions.json" -o out/m.db
expect_fail "import-lite --annotations-json missing" 'nope.json: cannot open' "$B" reference import-lite \
  --lookup-npz "$L/lookup_table.npz" --annotations-json nope.json --accessions-json "$L/accessions.json" -o out/m.db
expect_fail "import-lite --accessions-json missing" 'nope.json: cannot open' "$B" reference import-lite \
  --lookup-npz "$L/lookup_table.npz" --annotations-json "$L/annotations.json" --accessions-json nope.json -o out/m.db
expect_fail "info on a missing store" 'nope.db: cannot open reference store' "$B" reference info nope.db
expect_fail "run --config missing" 'nope.yaml: cannot open' "$B" run --config nope.yaml
[ ! -e out/m.db ] && ok "no store from missing inputs" || bad "missing inputs left out/m.db"

# --- unwritable outputs (root ignores chmod: put the output below a regular file) ---
: >afile
expect_fail "embed output under a file" 'afile/x.h5' "$B" embed -i "$D/queries.fasta" -o afile/x.h5
expect_fail "lookup output dir under a file" 'afile/sub: cannot create directory' "$B" lookup -e q.h5 -r ref.db -o afile/sub
expect_fail "build output under a file" 'afile/r.db' "$B" "${RB[@]}" -o afile/r.db
expect_fail "import-lite output under a file" 'afile/il.db' "$B" reference import-lite --lookup-npz "$L/lookup_table.npz" \
  --annotations-json "$L/annotations.json" --accessions-json "$L/accessions.json" -o afile/il.db

# --- bad option values ---
expect_fail "k=0" "k must be a whole number in 1..10000, not '0'" "$B" lookup -e q.h5 -r ref.db -o out/v1 -k 0
expect_fail "k=10001" "k must be a whole number in 1..10000, not '10001'" "$B" lookup -e q.h5 -r ref.db -o out/v2 -k 10001
expect_fail "k=abc" "not 'abc'" "$B" lookup -e q.h5 -r ref.db -o out/v3 -k abc
expect_fail "metric=foo" "unknown distance metric 'foo'" "$B" lookup -e q.h5 -r ref.db -o out/v4 --metric foo
expect_fail "threshold=xyz" "threshold must be a number" "$B" lookup -e q.h5 -r ref.db -o out/v5 --threshold xyz
expect_fail "max-identity=2" "max-identity must be a number in 0..1" "$B" lookup -e q.h5 -r ref.db -o out/v6 --max-identity 2
expect_fail "raw-format=xml" "raw-format must be" "$B" lookup -e q.h5 -r ref.db -o out/v7 --raw-format xml
expect_fail "kmer-k=0" "kmer-k must be a whole number in 1..4" "$B" embed -i "$D/queries.fasta" -o out/v.h5 --kmer-k 0
expect_fail "kmer-k=9" "kmer-k must be a whole number in 1..4" "$B" embed -i "$D/queries.fasta" -o out/v.h5 --kmer-k 9
expect_fail "dtype=f8" "dtype must be" "$B" embed -i "$D/queries.fasta" -o out/v.h5 --dtype f8
[ -z "$(ls out/v* 2>/dev/null)" ] && ok "bad option values wrote nothing" || bad "bad option values left: $(ls -d out/v*)"

# --- run configs ---
cp "$D/queries.fasta" .
cat >broken.yaml <<'Y'
input: queries.fasta
base_directory: runs
reference: ref.db
embedding:
  models:
    kmer: {enabled: true
  layer_index: [0]
Y
expect_fail "run: broken YAML names the line" 'broken.yaml:7:.*YAML syntax error' "$B" run --config broken.yaml
printf 'input: queries.fasta\nbase_directory: runs\nembedding:\n  models:\n    kmer:\n      enabled: true\n' >noref.yaml
expect_fail "run without reference" 'no reference store' "$B" run --config noref.yaml
printf 'input: queries.fasta\nbase_directory: runs\nreference: nope.db\nembedding:\n  models:\n    kmer:\n      enabled: true\n' >missref.yaml
expect_fail "run with a missing reference store" 'reference store nope.db: no such file' "$B" run --config missref.yaml
printf 'input: nope.fasta\nbase_directory: runs\nreference: ref.db\nembedding:\n  models:\n    kmer:\n      enabled: true\n' >missin.yaml
expect_fail "run with a missing input" 'input nope.fasta: no such file' "$B" run --config missin.yaml
printf 'input: queries.fasta\nbase_directory: runs\nreference: ref.db\nonly_lookup: true\nonly_embedding: true\n' >both.yaml
expect_fail "run: only_lookup and only_embedding both true" 'only_lookup and only_embedding are both true' "$B" run --config both.yaml
printf 'input: queries.fasta\nbase_directory: afile/runs\nreference: ref.db\nembedding:\n  models:\n    kmer:\n      enabled: true\n' >unw.yaml
expect_fail "run: base_directory under a file" 'afile/runs: cannot create directory' "$B" run --config unw.yaml
expect_fail "run: lookup with a NaN embeddings file" 'nan.h5.*NaN' "$B" run --config noref.yaml --reference ref.db \
  --only_lookup true --input "$F/embfile/nan.h5"
[ -z "$(find runs -name 'raw_results*' -o -name 'summary.csv' 2>/dev/null)" ] && ok "failed runs wrote no results" || bad "failed runs left results"

# --- usage errors: exit 2 ---
ec() { "$@" >/dev/null 2>&1; echo $?; }
[ "$(ec "$B" frobnicate)" = 2 ] && ok "unknown command exits 2" || bad "unknown command exit $(ec "$B" frobnicate)"
[ "$(ec "$B" --frob)" = 2 ] && ok "unknown global option exits 2" || bad "unknown global option"
for sub in embed lookup "reference build" "reference import-lite"; do
  # shellcheck disable=SC2086
  [ "$(ec "$B" $sub --frob)" = 2 ] && ok "$sub: unknown option exits 2" || bad "$sub: unknown option exit $(ec "$B" $sub --frob)"
done
[ "$(ec "$B" reference frob)" = 2 ] && ok "unknown reference subcommand exits 2" || bad "unknown reference subcommand"
[ "$(ec "$B" run)" = 2 ] && ok "run without --config exits 2" || bad "run without --config"
[ "$(ec "$B" lookup -e q.h5)" = 2 ] && ok "lookup missing required options exits 2" || bad "lookup missing options"

no_partial "$WORK" "bad input"
finish
