#!/usr/bin/env bash
# reference build (GAF, evidence filter default and 'all', --taxonomy TSV, UniProt headers),
# reference import-lite, and what reference info reports about them.
. "$(dirname "$0")/common.sh"
cd "$WORK"
D=$SRC/demo
F=${FC_FIXTURES:-$SRC/tests/fixtures}
B=$FC_BIN
E=$F/e2e
command -v sqlite3 >/dev/null && HAVE_SQLITE=1 || HAVE_SQLITE=0
q() { sqlite3 "$1" "$2"; }

"$B" -q embed -i "$E/mini.fasta" -o mini.h5 || { bad "embed mini.fasta"; finish; exit 1; }

# 1. GAF with the default evidence filter: EXP IDA IPI IMP IGI IEP TAS IC kept, IEA and ISS dropped
if "$B" reference build --fasta "$E/mini.fasta" --annotations "$E/mini.gaf" --ontology "$D/go_subset.obo" \
  --embeddings mini.h5 -o def.db >out.txt 2>err.txt; then ok "build from GAF (default evidence)"; else bad "build: $(cat err.txt)"; fi
grep -q 'left out 3 annotations by evidence code' err.txt && ok "build reports 3 annotations left out by evidence" \
  || bad "build report: $(cat err.txt)"
"$B" reference info def.db >info_def.txt || bad "info def.db"
grep -Eq '^sequences +6$' info_def.txt && ok "info: 6 sequences" || bad "info sequences: $(head -5 info_def.txt)"
grep -Eq '^proteins +6$' info_def.txt && ok "info: 6 proteins" || bad "info proteins"
grep -Eq '^annotations +5$' info_def.txt && ok "info: 5 annotations kept by default" || bad "info annotations: $(grep annot info_def.txt)"
grep -q '^evidence codes  *EXP=1 IC=1 IDA=1 IMP=1 TAS=1$' info_def.txt && ok "info: experimental evidence codes only" \
  || bad "info evidence: $(grep evidence info_def.txt)"
grep -Eq '^  kmer +type_id [0-9]+ +layer 0 +dim 8000 +rows 6 +pooling kmer-composition-k3' info_def.txt \
  && ok "info: kmer space (layer 0, dim 8000, 6 rows)" || bad "info space: $(grep -A2 'embedding spaces' info_def.txt)"
grep -q 'evidence_codes *EXP,IDA,IPI,IMP,IGI,IEP,TAS,IC' info_def.txt && ok "info: provenance names the evidence filter" \
  || bad "info provenance: $(grep evidence_codes info_def.txt)"
grep -q "source_annotations .*mini.gaf" info_def.txt && ok "info: provenance names the GAF" || bad "no source_annotations"
if [ $HAVE_SQLITE = 1 ]; then
  [ "$(q def.db "select count(*) from protein_go_term_annotation a join protein p on p.id=a.protein_id where p.accession='A0Q481'")" = 1 ] \
    && ok "A0Q481: IDA kept, IEA dropped" || bad "A0Q481 annotations: $(q def.db 'select * from protein_go_term_annotation')"
  # UniProt header: sp|ACC|NAME_ORG ... OS=... OX=... GN=...
  row=$(q def.db "select id, accession, gene_name, organism, taxonomy_id from protein where accession='A1AGS9'")
  [ "$row" = "PCKA_ECOK1|A1AGS9|pckA|Escherichia coli|562" ] && ok "UniProt header parsed: $row" || bad "UniProt header: '$row'"
  row=$(q def.db "select organism, taxonomy_id from protein where accession='A1JNZ3'")
  [ "$row" = "Saccharomyces cerevisiae S288C|559292" ] && ok "OS= with spaces and OX=" || bad "OS/OX: '$row'"
else
  echo "# sqlite3 CLI not found: skipping the per-row store checks"
fi

# 2. --evidence all keeps every code
"$B" -q reference build --fasta "$E/mini.fasta" --annotations "$E/mini.gaf" --ontology "$D/go_subset.obo" \
  --embeddings mini.h5 --evidence all -o all.db >/dev/null || bad "build --evidence all"
"$B" reference info all.db >info_all.txt
grep -Eq '^annotations +8$' info_all.txt && ok "--evidence all keeps all 8" || bad "all: $(grep annot info_all.txt)"
grep -q '^evidence codes  *EXP=1 IC=1 IDA=1 IEA=2 IMP=1 ISS=1 TAS=1$' info_all.txt && ok "--evidence all: IEA=2 ISS=1 listed" \
  || bad "all evidence: $(grep evidence info_all.txt)"
# an explicit list
"$B" -q reference build --fasta "$E/mini.fasta" --annotations "$E/mini.gaf" --ontology "$D/go_subset.obo" \
  --embeddings mini.h5 --evidence IEA,ISS -o iea.db >/dev/null || bad "build --evidence IEA,ISS"
"$B" reference info iea.db | grep -q '^evidence codes  *IEA=2 ISS=1$' && ok "--evidence IEA,ISS keeps only those" \
  || bad "--evidence IEA,ISS: $("$B" reference info iea.db | grep evidence)"

# 3. plain accessions + --taxonomy TSV
sed -E 's/^>sp\|([A-Z0-9]+)\|.*/>\1/' "$E/mini.fasta" >plain.fa
"$B" -q embed -i plain.fa -o plain.h5
"$B" -q reference build --fasta plain.fa --annotations "$E/mini.gaf" --ontology "$D/go_subset.obo" \
  --embeddings plain.h5 --taxonomy "$E/taxonomy.tsv" -o tax.db >/dev/null && ok "build with --taxonomy" || bad "build --taxonomy"
"$B" reference info tax.db >info_tax.txt
grep -q "source_taxonomy .*taxonomy.tsv" info_tax.txt && ok "info: provenance names the taxonomy TSV" || bad "no source_taxonomy"
grep -Eq '^proteins +6$' info_tax.txt && ok "plain-header store has 6 proteins" || bad "tax proteins"
if [ $HAVE_SQLITE = 1 ]; then
  row=$(q tax.db "select accession, organism, taxonomy_id from protein where accession='A1JRK8'")
  [ "$row" = "A1JRK8|Mus musculus|10090" ] && ok "taxonomy TSV gives organism and id" || bad "taxonomy TSV row: '$row'"
  [ "$(q tax.db "select count(*) from protein where taxonomy_id is null or taxonomy_id=''")" = 0 ] \
    && ok "every protein has a taxonomy id" || bad "proteins without taxonomy id"
fi
# the store is usable: the six proteins find themselves
"$B" -q lookup -e plain.h5 -r tax.db -o lk >/dev/null || bad "lookup against the built store"
[ "$(tail -n +2 lk/raw_results.tsv | awk -F'\t' '$5+0 < 1e-6' | cut -f1 | sort -u | wc -l)" -ge 5 ] \
  && ok "lookup: proteins find themselves at distance 0" || bad "self lookup: $(head -3 lk/raw_results.tsv)"

# 4. FANTASIA-Lite bundle
L=$F/lite/good
"$B" reference import-lite --lookup-npz "$L/lookup_table.npz" --annotations-json "$L/annotations.json" \
  --accessions-json "$L/accessions.json" -o lite.db >/dev/null 2>err.txt && ok "import-lite" || bad "import-lite: $(cat err.txt)"
"$B" reference info lite.db >info_lite.txt || bad "info lite.db"
grep -Eq '^sequences +6$' info_lite.txt && ok "lite: 6 sequences" || bad "lite sequences: $(head -4 info_lite.txt)"
grep -Eq '^annotations +5$' info_lite.txt && ok "lite: 5 annotations" || bad "lite annotations"
grep -q '^evidence codes  *EXP=1 IDA=2 IMP=1 IPI=1$' info_lite.txt && ok "lite: evidence codes" || bad "lite evidence: $(grep evidence info_lite.txt)"
grep -Eq '^  Prot-T5 +type_id 3 +layer 0 +dim 8 +rows 5 +pooling fantasia-lite' info_lite.txt && ok "lite: Prot-T5 space" \
  || bad "lite Prot-T5: $(grep -A3 'embedding spaces' info_lite.txt)"
grep -Eq '^  Ankh3-Large +type_id 4 +layer 0 +dim 6 +rows 4' info_lite.txt && ok "lite: Ankh3-Large space" || bad "lite Ankh3"
grep -q 'source *fantasia-lite' info_lite.txt && ok "lite: provenance" || bad "lite provenance"
# a second build to an existing path replaces it atomically
"$B" -q reference build --fasta "$E/mini.fasta" --annotations "$E/mini.gaf" --ontology "$D/go_subset.obo" \
  --embeddings mini.h5 --evidence all -o def.db >/dev/null && "$B" reference info def.db | grep -Eq '^annotations +8$' \
  && ok "rebuild replaces the store" || bad "rebuild"
no_partial "$WORK" "reference"
finish
