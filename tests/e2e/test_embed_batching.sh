#!/usr/bin/env bash
# embed with a language model in packed batches (tiny ESM-2 fixture, tests/fixtures/esm2):
#  - a sequence whose working memory alone exceeds --max-memory is listed in failed_sequences.tsv with the
#    memory it needs, and every other record is written;
#  - --batch-tokens 1 (one sequence per batch), the default and a small memory budget (batches split) give
#    the same vectors within 1e-5 relative; a duplicated sequence gets the vectors of its twin;
#  - a run resumed from a partial file ends with the same vectors; an error inside a batch re-runs its
#    sequences one at a time so only the bad one fails; bad --max-memory / --batch-tokens values are usage
#    errors.
source "$(dirname "$0")/common.sh"
M=$SRC/tests/fixtures/esm2
cd "$WORK"
# demo queries (33, up to 1,122 residues) + a 3,000-residue sequence (1,500 under the sanitizer) + a
# duplicate under another accession
LONG=$([ "${FC_SANITIZE:-0}" = 1 ] && echo 1500 || echo 3000)
cp "$SRC/demo/queries.fasta" in.fa
awk -v n=$LONG 'BEGIN{s="ACDEFGHIKLMNPQRSTVWY"; srand(7); printf ">long1\n"; for(i=0;i<n;i++) printf "%s", substr(s, int(rand()*20)+1, 1); printf "\n"}' >>in.fa
awk 'NR==1{print ">dup1"; next} /^>/{exit} {print}' "$SRC/demo/queries.fasta" >>in.fa
first=$(head -1 in.fa | cut -c2- | cut -d' ' -f1 | tr '|/' '__')
N=$(grep -c '>' in.fa)

# 1. memory budget: with 2 threads (one attention score block each) long1 needs >= 2.9 MiB alone (~2 KiB
#    per token); the others (<= 1,124 tokens) need <= 2.2 MiB, so 2.5M lets every other one run (in several
#    batches). The thread count is pinned: the scratch grows with it.
if FANTASIA_THREADS=2 "$FC_BIN" embed -m "$M" --layers 0,2 --max-memory 2.5M -i in.fa -o mem.h5 2>err_mem.txt; then
  ok "embed --max-memory 2.5M exits 0"
else
  bad "embed --max-memory 2.5M failed: $(tail -3 err_mem.txt)"
fi
if grep -qP "^long1\t\tneeds [0-9.]+ MiB for $((LONG + 2)) tokens; memory budget 2.5 MiB \(--max-memory\)$" failed_sequences.tsv; then
  ok "long1 listed in failed_sequences.tsv with its reason"
else
  bad "failed_sequences.tsv: $(cat failed_sequences.tsv)"
fi
[ "$(wc -l <failed_sequences.tsv)" -eq 2 ] && ok "only long1 failed" || bad "failed list: $(cat failed_sequences.tsv)"
n_acc=$(h5ls mem.h5 | grep -c '^accession_')
[ "$n_acc" -eq $((N - 1)) ] && ok "the other $((N - 1)) records are written" || bad "$n_acc accessions, expected $((N - 1))"
h5ls mem.h5/accession_long1 >/dev/null 2>&1 && bad "long1 was written" || ok "long1 not written"

# 2. one sequence per batch vs the default batches: same vectors
"$FC_BIN" -q embed -m "$M" --layers 0,2 --batch-tokens 1 -i in.fa -o one.h5 --failed f1.tsv || bad "--batch-tokens 1 failed"
"$FC_BIN" -q embed -m "$M" --layers 0,2 -i in.fa -o def.h5 --failed f2.tsv || bad "default batches failed"
PY=
for p in python3 "/usr/bin/python3 -s"; do
  if $p -c 'import h5py, numpy' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
  echo "SKIP: numeric comparisons need python3 with h5py and numpy"
else
  # compare A B [TWIN_A TWIN_B]: every embedding of A is in B within 1e-5 relative (max|diff| / max|b|)
  cmp_h5() {
    $PY - "$@" <<'P'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and n.endswith("/embedding") else None)
worst, missing = 0.0, 0
for n in names:
    if n not in b:
        missing += 1; continue
    x, y = np.asarray(a[n], dtype=np.float64), np.asarray(b[n], dtype=np.float64)
    worst = max(worst, float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-30)))
print(len(names), missing, "%.3g" % worst, "ok" if missing == 0 and worst <= 1e-5 and names else "BAD")
P
  }
  r=$(cmp_h5 one.h5 def.h5)
  case "$r" in *" 0 "*ok) ok "--batch-tokens 1 vs default: same vectors ($r)" ;; *) bad "--batch-tokens 1 vs default: $r" ;; esac
  r=$(cmp_h5 mem.h5 def.h5)
  case "$r" in *ok) ok "small memory budget (split batches) vs default: same vectors ($r)" ;; *) bad "memory budget vs default: $r" ;; esac
  r=$($PY - def.h5 "$first" <<'P'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
same = all(np.array_equal(f[f"accession_{sys.argv[2]}/type_ESM/layer_{k}/embedding"][()],
                          f[f"accession_dup1/type_ESM/layer_{k}/embedding"][()]) for k in (0, 2))
print("same" if same else "differ")
P
  )
  [ "$r" = same ] && ok "a duplicated sequence gets its twin's vectors" || bad "duplicate: $r"
  # 3. resume from a partial file holding the first 10 records
  "$FC_BIN" -q embed -m "$M" --layers 0,2 --limit 10 -i in.fa -o res.h5 --failed f3.tsv && mv res.h5 res.h5.partial
  "$FC_BIN" embed -m "$M" --layers 0,2 -i in.fa -o res.h5 --failed f3.tsv 2>res.log || bad "resume failed: $(tail -2 res.log)"
  grep -q "10 of $N sequences were already in res.h5" res.log && ok "resume keeps the 10 stored records" || bad "resume log: $(cat res.log)"
  r=$(cmp_h5 res.h5 def.h5)
  case "$r" in *" 0 "*ok) ok "resumed file: same vectors ($r)" ;; *) bad "resumed file: $r" ;; esac
fi
# 4. an error inside a batch: the batch is re-run one sequence at a time, so only the bad one fails. A copy
#    of the fixture whose vocab.txt has one token more than the embedding table ("J", id 33) makes every
#    sequence with a J fail in the model ("outside the vocabulary"), after tokenising fine.
mkdir mj && cp "$M"/config.json "$M"/model.safetensors "$M"/vocab.txt mj/ && echo J >>mj/vocab.txt
printf '>a\nMKTAYIAK\n>b\nMKJJAYIAK\n>c\nACDEFGHIK\n>d\nMKTAYIAK\n' >j.fa
if "$FC_BIN" embed -m mj -i j.fa -o j.h5 --failed j.tsv 2>j.log; then
  grep -q 'a batch of 3 sequences failed.*running them one at a time' j.log && ok "failed batch re-run one at a time" ||
    bad "no re-run message: $(cat j.log)"
  [ "$(cut -f1 j.tsv | tail -n +2 | tr '\n' ' ')" = "b " ] && grep -q 'outside the vocabulary' j.tsv &&
    ok "only the bad sequence is listed, with its reason" || bad "j.tsv: $(cat j.tsv)"
  [ "$(h5ls j.h5 | grep -c '^accession_')" -eq 3 ] && ok "the 3 good records are written" || bad "j.h5: $(h5ls j.h5)"
else
  bad "embed with a failing sequence exited non-zero: $(tail -3 j.log)"
fi
# 5. run: embedding.batch_tokens / embedding.max_memory from the config (only_embedding); the longest demo
#    query (1,124 tokens, ~2.2 MiB with 2 threads) is over a 1 MiB budget and is listed, naming the config key
D=$SRC/demo
sed -e "s#^input:.*#input: $D/queries.fasta#" -e "s#^base_directory:.*#base_directory: $WORK/out#" \
  -e "s#^only_embedding:.*#only_embedding: true#" -e "s#^    kmer: .*#    ESM:\n      path: $M#" \
  -e "s#^embedding:.*#embedding:\n  batch_tokens: 64\n  max_memory: 1M#" "$D/config.yaml" >config.yaml
if exp=$("$FC_BIN" -q run --config config.yaml 2>run.err); then
  ok "run with embedding.batch_tokens / max_memory"
  grep -qP '\tneeds [0-9.]+ MiB for 1124 tokens; memory budget 1 MiB \(embedding.max_memory\)$' "$exp/failed_sequences.tsv" &&
    ok "run: over-budget query listed with the config key" || bad "run failed list: $(cat "$exp/failed_sequences.tsv")"
  n_run=$(h5ls "$exp/embeddings.h5" | grep -c '^accession_')
  n_fail=$(($(wc -l <"$exp/failed_sequences.tsv") - 1))
  [ $((n_run + n_fail)) -eq 33 ] && [ "$n_run" -gt 0 ] && ok "run: $n_run embedded + $n_fail listed = 33" ||
    bad "run: $n_run embedded, $n_fail listed"
else
  bad "run with batching keys: $(cat run.err)"
fi
sed -e "s#max_memory: 1M#max_memory: 12Q#" -e "s#base_directory: .*#base_directory: $WORK/out2#" config.yaml >bad.yaml
expect_fail "run: bad embedding.max_memory" "embedding.max_memory" "$FC_BIN" run --config bad.yaml
expect_fail "bad --max-memory" "--max-memory" "$FC_BIN" embed -m "$M" --max-memory 12Q -i in.fa -o x.h5
expect_fail "zero --max-memory" "--max-memory" "$FC_BIN" embed -m "$M" --max-memory 0 -i in.fa -o x.h5
expect_fail "zero --batch-tokens" "--batch-tokens" "$FC_BIN" embed -m "$M" --batch-tokens 0 -i in.fa -o x.h5
no_partial "$WORK" "batched embed"
finish
