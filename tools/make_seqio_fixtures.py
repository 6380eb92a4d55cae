#!/usr/bin/env python3
"""Writes the small FASTA fixtures of tests/test_seqio.c into tests/fixtures/seqio/.

Deterministic (gzip mtime 0), standard library only. Run from the repository root:
    python3 tools/make_seqio_fixtures.py
"""
import gzip
import io
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "seqio")

# Edge cases the reader must accept: CRLF, blank lines, lowercase, spaces inside sequence lines,
# a final '*', a header wrapped onto two lines (UniProt style), '|' and '/' in ids, no final newline.
EDGE = (
    ">sp|P1|ONE_TEST Protein one OS=Test organism OX=1 GN=one PE=1\r\n"
    "4 SV=1\r\n"
    "MKV LLA\r\n"
    "mkvlla*\r\n"
    "\r\n"
    ">two/slash Two\n"
    "ACDEFGHIKLMNPQRSTVWY\n"
    "BXZJOU\n"
    ">three third record, same sequence as one\n"
    "MKVLLAMKVLLA\n"
    ">four\n"
    "  WWWW  \n"
    "\tWW\n"
    ">five (strain K12) wrapped\n"
    "GN=five PE=1 SV=1\n"
    "MKV"
)

SMALL = "".join(">s%d desc %d\n%s\n" % (i, i, "ACDEFGHIKLMNPQRSTVWY"[i % 20] * (10 + i)) for i in range(50))


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as g:
        g.write(data)
    return buf.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "edge.fa"), "wb") as f:
        f.write(EDGE.encode())
    z = gz(SMALL.encode())
    with open(os.path.join(OUT, "small.fa.gz"), "wb") as f:
        f.write(z)
    with open(os.path.join(OUT, "small_truncated.fa.gz"), "wb") as f:
        f.write(z[: len(z) * 2 // 3])
    with open(os.path.join(OUT, "edge.fa.gz"), "wb") as f:
        f.write(gz(EDGE.encode()))


if __name__ == "__main__":
    main()
