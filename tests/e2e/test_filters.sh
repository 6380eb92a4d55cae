#!/usr/bin/env bash
# lookup filters on a small store (the 400 demo proteins, taxonomy ids assigned round robin) where each
# filter's effect is checkable in raw_results.tsv. Queries: 20 proteins that ARE in the store + the
# 33 demo queries.
. "$(dirname "$0")/common.sh"
cd "$WORK"
D=$SRC/demo
F=${FC_FIXTURES:-$SRC/tests/fixtures}
B=$FC_BIN
grep '>' "$D/reference.fasta" | tr -d '>' |
  awk 'BEGIN{t[0]=9606;t[1]=562;t[2]=83333;t[3]=559292;t[4]=10090} {print $1 "\t" t[NR%5]}' >tax.tsv
"$B" -q embed -i "$D/reference.fasta" -o ref.h5 || { bad "embed reference"; finish; exit 1; }
"$B" -q reference build --fasta "$D/reference.fasta" --annotations "$D/reference_annotations.tsv" --ontology "$D/go_subset.obo" \
  --embeddings ref.h5 --evidence all --taxonomy tax.tsv -o ref.db >/dev/null || { bad "build"; finish; exit 1; }
awk '/^>/{n++} n<=20' "$D/reference.fasta" >q.fa
cat "$D/queries.fasta" >>q.fa
awk '/^>/{print substr($1,2); n++} n>=20{exit}' "$D/reference.fasta" >self_ids.txt
"$B" -q embed -i q.fa -o q.h5 || { bad "embed queries"; finish; exit 1; }
lk() { local o=$1; shift; "$B" -q lookup -e q.h5 -r ref.db -o "$o" "$@" >/dev/null 2>"$o.err" || bad "lookup $*: $(cat "$o.err")"; }
R=raw_results.tsv
# columns: 1 accession 2 model 4 layer 5 distance 10 protein_id 14 ref_idx 15 query_len 16 ref_len 18 identity 30 metric
rows() { tail -n +2 "$1/$R"; }

# baseline: the 20 self queries find themselves at distance 0
lk base -k 3 --alignments
n=$(rows base | awk -F'\t' '$1==$10 && $5+0 < 1e-6' | cut -f1 | sort -u | wc -l)
[ "$n" -eq 20 ] && ok "baseline: 20 self queries find themselves" || bad "baseline self hits: $n"

# --exclude-self: no donor with the query's accession or its exact sequence
lk xself -k 3 --alignments --exclude-self
n=$(rows xself | awk -F'\t' '$1==$10' | wc -l)
[ "$n" -eq 0 ] && ok "--exclude-self: no donor with the query's accession" || bad "--exclude-self: $n rows donor==query"
n=$(rows xself | awk -F'\t' '$18+0 >= 1 && $15==$16' | wc -l)
[ "$n" -eq 0 ] && ok "--exclude-self: no donor with an identical sequence" || bad "--exclude-self: $n identical donors"
n=$(rows xself | grep -Ff self_ids.txt | cut -f1 | sort -u | grep -cFxf self_ids.txt)
[ "$n" -ge 15 ] && ok "--exclude-self: self queries still get other donors ($n/20)" || bad "--exclude-self: only $n self queries annotated"

# --max-identity 0.5: no donor above 0.5 global identity (identity column)
lk maxid -k 3 --alignments --max-identity 0.5
n=$(rows maxid | awk -F'\t' '$18+0 > 0.5' | wc -l)
[ "$n" -eq 0 ] && ok "--max-identity 0.5: no identity above 0.5" || bad "--max-identity: $n rows above 0.5"
[ "$(rows maxid | cut -f1 | sort -u | wc -l)" -ge 30 ] && ok "--max-identity: queries still annotated (k refilled)" || bad "--max-identity: few queries"

# taxonomy: ids come from tax.tsv via protein_id
donor_taxa() { rows "$1" | cut -f10 | sort -u | awk -F'\t' 'NR==FNR{t[$1]=$2; next} {print t[$1]}' tax.tsv - | sort -u | paste -sd' '; }
lk xt -k 5 --exclude-taxa 9606,10090
tx=$(donor_taxa xt)
case " $tx " in *" 9606 "* | *" 10090 "*) bad "--exclude-taxa: donors of $tx" ;; *) ok "--exclude-taxa 9606,10090: donor taxa $tx" ;; esac
lk it -k 5 --include-taxa 562
[ "$(donor_taxa it)" = 562 ] && ok "--include-taxa 562: only 562 donors" || bad "--include-taxa: donor taxa $(donor_taxa it)"
# descendants: 83333 is a strain below 562 in the fixture nodes.dmp
lk xt562 -k 5 --exclude-taxa 562
case " $(donor_taxa xt562) " in *" 83333 "*) ok "--exclude-taxa 562 alone keeps 83333" ;; *) bad "83333 missing without nodes: $(donor_taxa xt562)" ;; esac
lk xtn -k 5 --exclude-taxa 562 --taxonomy-nodes "$F/taxonomy/nodes.dmp"
case " $(donor_taxa xtn) " in *" 562 "* | *" 83333 "*) bad "--taxonomy-nodes exclude: donor taxa $(donor_taxa xtn)" ;;
  *) ok "--taxonomy-nodes: 562 and its descendant 83333 excluded ($(donor_taxa xtn))" ;; esac
lk itn -k 5 --include-taxa 562 --taxonomy-nodes "$F/taxonomy/nodes.dmp"
[ "$(donor_taxa itn)" = "562 83333" ] && ok "--taxonomy-nodes include 562: 562 and 83333" || bad "include with nodes: $(donor_taxa itn)"

# --threshold: every distance <= threshold
lk thr -k 10 --threshold 0.3
n=$(rows thr | awk -F'\t' '$5+0 > 0.3' | wc -l)
[ "$n" -eq 0 ] && [ -n "$(rows thr)" ] && ok "--threshold 0.3: all distances <= 0.3" || bad "--threshold: $n rows above (or no rows)"

# -k 5: at most 5 distinct donors per query, model and layer
lk k5 -k 5
n=$(rows k5 | awk -F'\t' '{print $1 "\t" $2 "\t" $4 "\t" $14}' | sort -u | cut -f1-3 | uniq -c | awk '$1 > 5' | wc -l)
m=$(rows k5 | awk -F'\t' '{print $1 "\t" $14}' | sort -u | cut -f1 | uniq -c | awk '$1 == 5' | wc -l)
[ "$n" -eq 0 ] && [ "$m" -gt 0 ] && ok "-k 5: <= 5 donors per query ($m queries with exactly 5)" || bad "-k 5: $n over, $m at 5"

# --metric euclidean
lk euc -k 3 --metric euclidean
[ "$(rows euc | cut -f30 | sort -u)" = euclidean ] \
  && ok "--metric euclidean: rows say euclidean" || bad "--metric euclidean: $(rows euc | head -1)"
# the store keeps fp16 vectors (as FANTASIA's halfvec): a self match is ~1e-4 away in euclidean distance
n=$(rows euc | awk -F'\t' '$1==$10 && $5+0 < 0.01' | cut -f1 | sort -u | wc -l)
[ "$n" -eq 20 ] && ok "euclidean: self queries at distance ~0 (fp16 store)" || bad "euclidean self hits: $n"

# --raw-format csv_tree
lk tree -k 3 --raw-format csv_tree
nf=$(ls tree/raw_results/kmer/layer_0/*.csv 2>/dev/null | wc -l)
[ "$nf" -ge 30 ] && ok "csv_tree: $nf files under raw_results/kmer/layer_0/" || bad "csv_tree: $nf files"
[ ! -e tree/$R ] && ok "csv_tree: no raw_results.tsv" || bad "csv_tree wrote raw_results.tsv too"
lk both -k 3 --raw-format both
[ -s both/$R ] && ls both/raw_results/kmer/layer_0/*.csv >/dev/null 2>&1 && ok "--raw-format both" || bad "--raw-format both"

# MMseqs2 redundancy masking
if command -v mmseqs >/dev/null; then
  lk red -k 3 --redundancy-identity 0.9 --redundancy-coverage 0.7
  c=$(find red -name clusters.tsv | head -1)
  [ -n "$c" ] && [ "$(head -1 "$c")" = $'cluster\tidentifier' ] && ok "redundancy: clusters.tsv with header" \
    || bad "redundancy: clusters.tsv missing or header '$(head -1 "$c" 2>/dev/null)'"
  n=$(rows red | awk -F'\t' '$1==$10 && $5+0 < 1e-6' | wc -l)
  [ "$n" -eq 0 ] && ok "redundancy: self queries lose their own (same-cluster) donor" || bad "redundancy: $n self rows kept"
else
  echo "# mmseqs not on PATH: skipping the positive redundancy case, checking the error instead"
  expect_fail "redundancy without mmseqs" 'mmseqs' "$B" lookup -e q.h5 -r ref.db -o red --redundancy-identity 0.9
fi
# without mmseqs on PATH: one clear line saying it is not installed, nothing half-written
expect_fail "redundancy with mmseqs absent" 'mmseqs.*not installed' env PATH=/nonexistent "$B" lookup -e q.h5 -r ref.db \
  -o red-nommseqs --redundancy-identity 0.9
no_partial "$WORK" "filters"
finish
