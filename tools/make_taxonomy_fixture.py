#!/usr/bin/env python3
"""Writes tests/fixtures/taxonomy/nodes.dmp: a small NCBI-format taxonomy for tests/test_taxonomy.c.

Real NCBI tax ids and ranks, but a simplified lineage (many intermediate ranks are skipped, so a
parent here may be a grand-ancestor in the real tree). Same line format as NCBI nodes.dmp:
13 fields separated by "\\t|\\t", each line ending in "\\t|". Run from the repository root:
    python3 tools/make_taxonomy_fixture.py
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "taxonomy")

# tax_id, parent, rank, division (NCBI division ids: 0 bacteria, 1 invertebrates, 2 mammals,
# 4 plants and fungi, 5 primates, 8 unassigned, 9 viruses, 10 vertebrates, 11 environmental)
NODES = [
    (1, 1, "no rank", 8),
    (131567, 1, "cellular root", 8),
    (2, 131567, "domain", 0),
    (1224, 2, "phylum", 0),
    (1236, 1224, "class", 0),
    (91347, 1236, "order", 0),
    (543, 91347, "family", 0),
    (561, 543, "genus", 0),
    (562, 561, "species", 0),
    (83333, 562, "strain", 0),
    (511145, 83333, "strain", 0),
    (2759, 131567, "domain", 1),
    (33154, 2759, "clade", 1),
    (4751, 33154, "kingdom", 4),
    (4932, 4751, "species", 4),
    (559292, 4932, "strain", 4),
    (33208, 33154, "kingdom", 1),
    (7711, 33208, "phylum", 10),
    (40674, 7711, "class", 2),
    (9606, 40674, "species", 5),
    (10090, 40674, "species", 2),
    (10239, 1, "acellular root", 9),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "nodes.dmp"), "w", newline="\n") as f:
        for tax, parent, rank, div in NODES:
            fields = [str(tax), str(parent), rank, "", str(div), "0", "1", "0", "0", "0", "0", "0", ""]
            f.write("\t|\t".join(fields) + "\t|\n")


if __name__ == "__main__":
    main()
