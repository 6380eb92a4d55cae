#!/usr/bin/env python3
"""Build the bundled demo data set (demo/) from ../shared/data.

Queries: the 33 E. coli proteins of FANTASIA-Lite's test.fa (real, with wrapped headers).
References: real Swiss-Prot 2014 proteins with real GO annotations: for every query, up to 8
homologues found by MMseqs2 (identity < 95 %, so the query itself is not its own donor), plus
proteins of the fixed 1 % sample to reach about 400.
Ontology: the GO terms the annotations use and all their is_a/part_of ancestors, from go.obo.gz.

usage: tools/make_demo.py HITS.m8 [DATA_DIR] [OUT_DIR]
  HITS.m8 from: mmseqs easy-search DATA/test.fa DATA/swissprot2014/reference.fasta.gz hits.m8 tmp -e 1e-5 --max-seqs 50
"""
import gzip, hashlib, os, random, sys
from collections import defaultdict

hits_path = sys.argv[1]
data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "demo")
os.makedirs(out, exist_ok=True)

per_query = defaultdict(list)
for line in open(hits_path):
    f = line.split("\t")
    if float(f[2]) < 0.95 and f[1] not in per_query[f[0]]:
        per_query[f[0]].append(f[1])
chosen = []
for q in sorted(per_query):
    for t in per_query[q][:8]:
        if t not in chosen:
            chosen.append(t)

def read_fasta(path):
    opener = gzip.open if path.endswith(".gz") else open
    acc, seq = None, []
    with opener(path, "rt") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith(">"):
                if acc:
                    yield acc, "".join(seq)
                acc, seq = line[1:].split()[0], []
            else:
                seq.append(line)
    if acc:
        yield acc, "".join(seq)

sample = [a for a, _ in read_fasta(os.path.join(data, "swissprot2014/sample1pct/reference.fasta.gz"))]
random.Random(2014).shuffle(sample)
for a in sample:
    if len(chosen) >= 400:
        break
    if a not in chosen:
        chosen.append(a)
chosen_set = set(chosen)

seqs = {a: s for a, s in read_fasta(os.path.join(data, "swissprot2014/reference.fasta.gz")) if a in chosen_set}
ann = defaultdict(list)
with gzip.open(os.path.join(data, "swissprot2014/annotations.tsv.gz"), "rt") as fh:
    for line in fh:
        a, go, aspect = line.rstrip("\n").split("\t")
        if a in chosen_set:
            ann[a].append((go, aspect))

with open(os.path.join(out, "reference.fasta"), "w") as fh:
    for a in sorted(chosen_set):
        s = seqs[a]
        fh.write(">%s\n" % a)
        for i in range(0, len(s), 60):
            fh.write(s[i:i + 60] + "\n")
with open(os.path.join(out, "reference_annotations.tsv"), "w") as fh:
    for a in sorted(chosen_set):
        for go, aspect in ann[a]:
            fh.write("%s\t%s\t%s\n" % (a, go, aspect))

# ontology subset: used terms (alt_ids resolved) and their ancestors
stanzas, alt = {}, {}
cur = None
with gzip.open(os.path.join(data, "go.obo.gz"), "rt") as fh:
    header, in_header = [], True
    for line in fh:
        if line.startswith("["):
            in_header = False
            cur = [line] if line.startswith("[Term]") else None
            continue
        if in_header:
            header.append(line)
            continue
        if cur is None:
            continue
        cur.append(line)
        if line.startswith("id: "):
            stanzas[line[4:].strip()] = cur
        elif line.startswith("alt_id: "):
            alt[line[8:].strip()] = [l for l in cur if l.startswith("id: ")][0][4:].strip()

def parents(t):
    for l in stanzas[t]:
        if l.startswith("is_a: "):
            yield l.split()[1]
        elif l.startswith("relationship: part_of "):
            yield l.split()[2]

need, stack = set(), []
for a in chosen_set:
    for go, _ in ann[a]:
        t = alt.get(go, go)
        if t in stanzas:
            stack.append(t)
while stack:
    t = stack.pop()
    if t in need:
        continue
    need.add(t)
    stack.extend(parents(t))
with open(os.path.join(out, "go_subset.obo"), "w") as fh:
    fh.writelines(l for l in header if not l.startswith("remark"))
    fh.write("remark: subset of GO releases/2022-07-01 (go.obo.gz in shared/data): terms used by the demo and their is_a/part_of ancestors\n\n")
    for t in sorted(need):
        fh.write("[Term]\n")
        fh.writelines(l for l in stanzas[t][1:] if not l.startswith("def: ") and not (l.startswith("relationship: ") and not l.startswith("relationship: part_of ")))
print("references %d, annotations %d, GO terms %d" % (len(chosen_set), sum(len(v) for v in ann.values()), len(need)))
