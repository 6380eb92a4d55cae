#!/usr/bin/env bash
# Makes tests/fixtures/e2e/: six demo reference proteins with UniProt-style headers (mini.fasta),
# a GAF 2.2 file with a mix of evidence codes for them (mini.gaf) and a taxonomy TSV (taxonomy.tsv).
# usage: bash tools/make_e2e_fixtures.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures/e2e
mkdir -p "$out"
# accession  entry-name  organism  taxid  gene
meta='A0Q481 HEMC_FRATN Homo_sapiens 9606 hemC
A1AGS9 PCKA_ECOK1 Escherichia_coli 562 pckA
A1JNS5 Y123_YERE8 Escherichia_coli_K-12 83333 yerA
A1JNZ3 NHAA_YERE8 Saccharomyces_cerevisiae_S288C 559292 nhaA
A1JRK8 SECA_YERE8 Mus_musculus 10090 secA
A1JTC5 ATPB_YERE8 Homo_sapiens 9606 atpD'
echo "$meta" | while read -r acc name org tax gene; do
  awk -v a="$acc" -v h="sp|$acc|$name Test protein $acc OS=${org//_/ } OX=$tax GN=$gene PE=1 SV=1" \
    '/^>/{p=(substr($1,2)==a); if(p) print ">" h; next} p' demo/reference.fasta
done >"$out/mini.fasta"
{
  printf '!gaf-version: 2.2\n!generated-by: tools/make_e2e_fixtures.sh\n'
  # 5 experimental (kept by default), 3 not (IEA x2, ISS)
  g() { printf 'UniProtKB\t%s\t%s\tinvolved_in\t%s\tPMID:1\t%s\t\t%s\tprotein %s\t\tprotein\ttaxon:%s\t20240101\tUniProt\t\t\n' "$@"; }
  g A0Q481 hemC GO:0006779 IDA P A0Q481 9606
  g A0Q481 hemC GO:0006782 IEA P A0Q481 9606
  g A1AGS9 pckA GO:0004611 EXP F A1AGS9 562
  g A1AGS9 pckA GO:0000166 IEA F A1AGS9 562
  g A1JNS5 yerA GO:0006351 TAS P A1JNS5 83333
  g A1JNZ3 nhaA GO:0006810 IMP P A1JNZ3 559292
  g A1JRK8 secA GO:0015031 IC P A1JRK8 10090
  g A1JTC5 atpD GO:0006754 ISS P A1JTC5 9606
} >"$out/mini.gaf"
echo "$meta" | awk '{gsub("_"," ",$3); print $1 "\t" $4 "\t" $3}' OFS='\t' >"$out/taxonomy.tsv"
