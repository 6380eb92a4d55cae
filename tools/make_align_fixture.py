#!/usr/bin/env python3
"""Reference alignment metrics for tests/test_align.c, computed with the Python `parasail` package
(the library FANTASIA uses, >= 1.3.4) exactly as FANTASIA's helpers.py does (spec §6.3).

Usage: python3 tools/make_align_fixture.py tests/fixtures/align/pairs.tsv
Needs: pip install parasail (in a venv). Output columns (TSV, header line):
  query ref nw_score nw_identity nw_similarity nw_gaps nw_length sw_score sw_identity sw_similarity sw_gaps sw_length
"""
import random
import sys

import parasail

AA = "ACDEFGHIKLMNPQRSTVWY"


def metrics(res):
    score = res.score
    try:
        tb = res.traceback
        q, r, comp = tb.query, tb.ref, tb.comp
    except Exception:
        q = r = comp = ""
    n = len(q)
    if n == 0:
        return score, 0.0, 0.0, 0.0, 0
    matches = sum(1 for a, b in zip(q, r) if a != "-" and b != "-" and a == b)
    similar = sum(1 for c in comp if c in "|:")
    gaps = q.count("-") + r.count("-")
    return score, matches / n, similar / n, gaps / n, n


def mutate(s, rng):
    out = []
    for c in s:
        x = rng.random()
        if x < 0.08:
            out.append(rng.choice(AA))
        elif x < 0.11:
            continue
        elif x < 0.14:
            out.append(c)
            out.extend(rng.choice(AA) for _ in range(rng.randint(1, 4)))
        else:
            out.append(c)
    return "".join(out) or "A"


def main():
    rng = random.Random(20261129)
    pairs = [("WWW", "PPP"), ("MKV", "MKV"), ("ACDEFGHIK", "ACDGHIK"), ("A", "W"), ("M", "M"),
             ("MKVLAXBZU", "MKVLAJOU*"), ("MKVLA", "mkvla"), ("PPPPPPPPPPMKWVTFISLLFLFSSAYS", "MKWVTFISLLFLFSSAYSGGGGG")]
    for i in range(60):
        n = rng.choice([1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 100, 257, 400])
        a = "".join(rng.choice(AA) for _ in range(n))
        b = mutate(a, rng) if i % 3 else "".join(rng.choice(AA) for _ in range(rng.randint(1, 300)))
        pairs.append((a, b))
    with open(sys.argv[1], "w") as f:
        f.write("query\tref\tnw_score\tnw_identity\tnw_similarity\tnw_gaps\tnw_length\t"
                "sw_score\tsw_identity\tsw_similarity\tsw_gaps\tsw_length\n")
        for q, r in pairs:
            g = metrics(parasail.nw_trace_striped_32(q, r, 10, 1, parasail.blosum62))
            l = metrics(parasail.sw_trace_striped_32(q, r, 10, 1, parasail.blosum62))
            f.write("\t".join([q, r] + [repr(x) for x in g] + [repr(x) for x in l]) + "\n")


if __name__ == "__main__":
    main()
