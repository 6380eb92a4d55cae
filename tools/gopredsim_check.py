#!/usr/bin/env python3
"""Independent reimplementation of goPredSim's scoring rules (NumPy), to check `--scoring gopredsim`.

Rules (goPredSim's function_prediction.py, as documented in docs/outputs.md):
  * one lookup per aspect (P, F, C) among the reference proteins with >= 1 term of that aspect;
  * k nearest proteins; every protein at a distance <= the k-th smallest distance is a hit (ties kept);
  * RI = 1 - d (cosine) or 0.5 / (0.5 + d) (euclidean); score(term) = sum of RI over the hits carrying
    it / number of hits; rounded to 2 decimals, zeros dropped; then terms that are an ancestor of another
    predicted term are dropped.
Reference vectors are rounded to fp16 first, as the reference store keeps them.
Ontology handling follows fantasia.c (is_a + part_of inside a namespace, alt_id -> primary, obsolete and
unknown terms ignored), so any difference reported is a scoring difference.

usage: gopredsim_check.py REF_EMB.h5 QUERY_EMB.h5 ANNOTATIONS.tsv GO.obo K METRIC MODEL LAYER OURS.tsv
Exit 0 when OURS.tsv has exactly the expected (target, term, score) lines (order ignored).
"""
import sys
from collections import defaultdict

import h5py
import numpy as np


def load_obo(path):
    terms, cur = {}, None
    for line in open(path):
        line = line.split(" !")[0].strip()
        if line.startswith("["):
            cur = {"alt": [], "par": [], "obs": False, "ns": ""} if line == "[Term]" else None
            continue
        if cur is None or ":" not in line:
            continue
        tag, val = line.split(":", 1)
        val = val.strip()
        if tag == "id":
            cur["id"] = val
            terms[val] = cur
        elif tag == "alt_id":
            cur["alt"].append(val)
        elif tag == "namespace":
            cur["ns"] = val
        elif tag == "is_obsolete":
            cur["obs"] = val == "true"
        elif tag == "is_a":
            cur["par"].append(val.split()[0])
        elif tag == "relationship" and val.split()[0] == "part_of":
            cur["par"].append(val.split()[1])
    aspect = {"biological_process": "P", "molecular_function": "F", "cellular_component": "C"}
    live = {t: d for t, d in terms.items() if not d["obs"] and d["ns"] in aspect}
    resolve = {}
    for t, d in live.items():
        resolve[t] = t
        for a in d["alt"]:
            resolve[a] = t
    parents = {t: [resolve[p] for p in d["par"] if p in resolve and live[resolve[p]]["ns"] == d["ns"]]
               for t, d in live.items()}
    anc = {}

    def ancestors(t):
        if t not in anc:
            s = set()
            for p in parents[t]:
                s.add(p)
                s |= ancestors(p)
            anc[t] = s
        return anc[t]

    sys.setrecursionlimit(100000)
    for t in live:
        ancestors(t)
    return resolve, {t: aspect[d["ns"]] for t, d in live.items()}, anc


def load_emb(path, model, layer):
    ids, vecs = [], []
    with h5py.File(path, "r") as f:
        for k in f:
            g = f[k].get("type_%s/layer_%d/embedding" % (model, layer))
            if g is not None:
                ids.append(k[len("accession_"):] if k.startswith("accession_") else k)
                vecs.append(np.asarray(g[()], dtype=np.float64))
    return ids, np.vstack(vecs)


def main():
    ref_h5, q_h5, ann, obo, k, metric, model, layer, ours = sys.argv[1:10]
    k, layer = int(k), int(layer)
    resolve, asp, anc = load_obo(obo)
    annot = defaultdict(set)
    for line in open(ann):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 2 and f[1] in resolve:
            annot[f[0]].add(resolve[f[1]])
    rids, R = load_emb(ref_h5, model, layer)
    R = R.astype(np.float16).astype(np.float64)  # the reference store keeps fp16 vectors
    qids, Q = load_emb(q_h5, model, layer)

    def dist(Qm, Rm):
        if metric == "cosine":
            qn = Qm / np.maximum(np.linalg.norm(Qm, axis=1, keepdims=True), 1e-12)
            rn = Rm / np.maximum(np.linalg.norm(Rm, axis=1, keepdims=True), 1e-12)
            return 1.0 - qn @ rn.T
        d2 = (Qm * Qm).sum(1)[:, None] + (Rm * Rm).sum(1)[None, :] - 2 * Qm @ Rm.T
        return np.sqrt(np.maximum(d2, 0))

    want = set()
    for a in "PFC":
        keep = [i for i, r in enumerate(rids) if any(asp[t] == a for t in annot.get(r, ()))]
        if not keep:
            continue
        D = dist(Q, R[keep])
        for qi, q in enumerate(qids):
            d = D[qi]
            kk = min(k, len(keep))
            cutoff = np.partition(d, kk - 1)[kk - 1]
            hits = np.nonzero(d <= cutoff)[0]
            score = defaultdict(float)
            for h in hits:
                dd = max(d[h], 0.0) if metric == "cosine" else d[h]
                ri = 1 - dd if metric == "cosine" else 0.5 / (0.5 + dd)
                for t in annot[rids[keep[h]]]:
                    if asp[t] == a:
                        score[t] += ri / len(hits)
            score = {t: round(v, 2) for t, v in score.items() if round(v, 2) != 0}
            parents = set()
            for t in score:
                parents |= anc[t]
            for t, v in score.items():
                if t not in parents:
                    want.add((q, t, "%.2f" % v))
    got = set(tuple(l.rstrip("\n").split("\t")) for l in open(ours) if l.strip())
    miss, extra = want - got, got - want
    print("gopredsim_check: %d expected lines, %d in %s; %d missing, %d extra"
          % (len(want), len(got), ours, len(miss), len(extra)))
    for x in sorted(miss)[:5]:
        print("  missing", *x)
    for x in sorted(extra)[:5]:
        print("  extra  ", *x)
    return 0 if not miss and not extra else 1


if __name__ == "__main__":
    sys.exit(main())
