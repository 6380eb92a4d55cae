#!/usr/bin/env python3
"""Writes the small OBO / annotation fixtures of tests/test_go.c into tests/fixtures/go/.

Hand-made but GO-shaped: forward references, a [Typedef], comments, trailing {modifiers}, alt_id,
obsolete + replaced_by, an ignored relationship type, a default-namespace. Deterministic.
Run from the repository root:  python3 tools/make_go_fixtures.py
"""
import gzip
import io
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "go")

MINI_OBO = """format-version: 1.2
data-version: test/2024-01-01
default-namespace: molecular_function
! a header comment

[Term]
id: GO:0000010
name: child defined before its parents
namespace: biological_process
is_a: GO:0000002 ! parent, defined later
relationship: part_of GO:0000003 {source="x"} ! part of whole
relationship: regulates GO:0000099 ! ignored type, target not in file

[Term]
id: GO:0000001
name: biological_process
namespace: biological_process
alt_id: GO:0000901
def: "The root! (not a comment inside quotes)" []

[Term]
id: GO:0000002
name: parent
namespace: biological_process
is_a: GO:0000901 ! via the alt_id of GO:0000001

[Term]
id: GO:0000003
name: whole
namespace: biological_process
is_a: GO:0000001

[Term]
id: GO:0000004
name: a function with the default namespace

[Term]
id: GO:0000005
name: old term
namespace: cellular_component
is_obsolete: true
replaced_by: GO:0000006

[Term]
id: GO:0000006
name: cell part
namespace: cellular_component

[Typedef]
id: part_of
name: part of
is_transitive: true
"""

GAF = (
    "!gaf-version: 2.2\n"
    "!generated-by: tools/make_go_fixtures.py\n"
    "UniProtKB\tP1\tg1\tenables\tGO:0000004\tPMID:1\tIDA\t\tF\tgene one\t\tprotein\ttaxon:9606\t20240101\tX\t\t\n"
    "UniProtKB\tP1\tg1\tinvolved_in\tGO:0000010\tPMID:1\tIEA\t\tP\tgene one\t\tprotein\ttaxon:9606|taxon:10090\t20240101\tX\t\t\n"
    "UniProtKB\tP2\tg2\tNOT|enables\tGO:0000004\tPMID:2\tIMP\t\tF\tgene two\t\tprotein\tNCBITaxon:559292\t20240101\tX\t\t\n"
    "UniProtKB\tP2\tg2\tlocated_in\tGO:0000006\tPMID:2\tTAS\t\tC\tgene two\t\tprotein\tNCBITaxon:559292\t20240101\tX\n"
)

TSV_EV = "accession\tgo\tevidence\nP1\tGO:0000004\tEXP\nP1\tGO:0000010\tIEA\nP2\tGO:0000006\tIC\n"
TSV_ASPECT = "P1\tGO:0000004\tF\nP1\tGO:0000010\tP\r\nP2\tGO:0000006\tC\n"


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as g:
        g.write(data)
    return buf.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "mini.obo": MINI_OBO.encode(),
        "mini.obo.gz": gz(MINI_OBO.encode()),
        "mini.gaf": GAF.encode(),
        "mini_evidence.tsv": TSV_EV.encode(),
        "mini_aspect.tsv.gz": gz(TSV_ASPECT.encode()),
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
