#!/usr/bin/env python3
"""Make tiny FANTASIA-Lite bundles (spec §10.3) for tests/test_refdb.c.

Writes under tests/fixtures/lite/ (or the folder given as argument):
  good/lookup_table.npz   Prot-T5 (5 x 8, float32) and Ankh3-Large (4 x 6, float16) with ids saved as
                          unicode arrays ('<U..'), np.savez_compressed
  good/annotations.json   ref_id -> list of {go_id, category, go_description, evidence_code}
                          (one entry is a single object, one names an id without embedding)
  good/accessions.json    ref_id -> accession (one number)
  good/expected_<Model>.txt the matrices as the store must return them (rows sorted by id)
  default/lookup_table.npz bare ids (int64) + embeddings (float64): model "default"
  named/                  non-numeric bytes ids ('|S2'), a namespace-name category, a null evidence
  bad/truncated.npz       good/lookup_table.npz cut in half
  bad/bad_header.npz      an .npy entry whose header dict is garbage
  bad/object_ids.npz      ids saved as a pickled object array ('|O')
  bad/missing_ids.npz     embeddings without ids
  bad/short_data.npz      an embeddings entry shorter than its shape says
  bad/bad.json            malformed JSON
  bad/not_object.json     a JSON list at top level
Deterministic (fixed seed); values are multiples of 1/64 so fp16 holds them exactly.
"""
import io
import json
import os
import sys
import zipfile

import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "lite")
rng = np.random.default_rng(1234)
for sub in ("good", "default", "bad"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)

ids_t5 = np.array(["105", "7", "42", "1000", "3"], dtype=str)  # unicode '<U4'
ids_ankh = np.array(["42", "7", "3", "2000"], dtype=str)
t5 = (rng.integers(-128, 128, size=(5, 8)) / 64.0).astype(np.float32)
ankh = (rng.integers(-128, 128, size=(4, 6)) / 64.0).astype(np.float16)
np.savez_compressed(os.path.join(out, "good", "lookup_table.npz"), **{
    "Prot-T5_ids": ids_t5, "Prot-T5_embeddings": t5,
    "Ankh3-Large_ids": ids_ankh, "Ankh3-Large_embeddings": ankh})

ann = {
    "7": [
        {"go_id": "GO:0005515", "category": "F", "go_description": "protein binding", "evidence_code": "IPI"},
        {"go_id": "GO:0005634", "category": "C", "go_description": "nucleus", "evidence_code": "IDA"},
        {"go_id": "GO:0005515", "category": "F", "go_description": "protein binding", "evidence_code": "IDA"},
    ],
    "42": {"go_id": "GO:0006915", "category": "P", "go_description": "apoptotic process", "evidence_code": "IMP"},
    "105": [{"go_id": "GO:0005634", "category": "C", "go_description": "nucleus", "evidence_code": "EXP"}],
    "2000": [{"go_id": "GO:0003677", "category": "F", "go_description": "DNA binding", "evidence_code": "IDA",
              "extra": 1}],
    "999999": [{"go_id": "GO:0008150", "category": "P", "go_description": "biological_process",
                "evidence_code": "ND"}],
}
with open(os.path.join(out, "good", "annotations.json"), "w") as f:
    json.dump(ann, f, indent=1, sort_keys=True)
acc = {"7": "P04637", "42": "Q9XYZ1", "105": "P69905", "1000": "O00001", "3": 12345, "2000": "A0A000"}
with open(os.path.join(out, "good", "accessions.json"), "w") as f:
    json.dump(acc, f, indent=1, sort_keys=True)

# Expected matrices, rows sorted by numeric id: "id v1 v2 ..." (exact decimal of the fp16 values).
for name, ids, mat in (("Prot-T5", ids_t5, t5), ("Ankh3-Large", ids_ankh, ankh)):
    order = sorted(range(len(ids)), key=lambda i: int(ids[i]))
    with open(os.path.join(out, "good", "expected_%s.txt" % name), "w") as f:
        for i in order:
            f.write(ids[i] + " " + " ".join(repr(float(v)) for v in mat[i].astype(np.float32)) + "\n")

np.savez(os.path.join(out, "default", "lookup_table.npz"),
         ids=np.array([11, 12, 13], dtype=np.int64),
         embeddings=(rng.integers(-64, 64, size=(3, 4)) / 32.0).astype(np.float64))

os.makedirs(os.path.join(out, "named"), exist_ok=True)
np.savez(os.path.join(out, "named", "lookup_table.npz"), **{
    "Prot-T5_ids": np.array([b"Q2", b"A1", b"B7"], dtype="S2"),
    "Prot-T5_embeddings": np.array([[3, 3], [1, 1], [2, 2]], dtype=np.float32)})
with open(os.path.join(out, "named", "annotations.json"), "w") as f:
    json.dump({"B7": [{"go_id": "GO:0005634", "category": "cellular_component", "go_description": "nucleus",
                       "evidence_code": None}]}, f)

good = open(os.path.join(out, "good", "lookup_table.npz"), "rb").read()
with open(os.path.join(out, "bad", "truncated.npz"), "wb") as f:
    f.write(good[: len(good) // 2])


def put(z, name, data):
    """Add an entry with a fixed timestamp, so the fixtures are byte-identical on every run."""
    zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    zi.compress_type = z.compression
    z.writestr(zi, data)


def npy_bytes(arr):
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=True)
    return b.getvalue()


with zipfile.ZipFile(os.path.join(out, "bad", "bad_header.npz"), "w") as z:
    put(z, "X_ids.npy", npy_bytes(np.array(["1", "2"], dtype=str)))
    raw = bytearray(npy_bytes(np.zeros((2, 3), dtype=np.float32)))
    hl = raw[8] | raw[9] << 8
    raw[10:10 + hl] = b"{garbage: !!".ljust(hl - 1) + b"\n"
    put(z, "X_embeddings.npy", bytes(raw))
with zipfile.ZipFile(os.path.join(out, "bad", "object_ids.npz"), "w") as z:
    put(z, "X_ids.npy", npy_bytes(np.array(["1", "2"], dtype=object)))
    put(z, "X_embeddings.npy", npy_bytes(np.zeros((2, 3), dtype=np.float32)))
with zipfile.ZipFile(os.path.join(out, "bad", "missing_ids.npz"), "w") as z:
    put(z, "X_embeddings.npy", npy_bytes(np.zeros((2, 3), dtype=np.float32)))
with zipfile.ZipFile(os.path.join(out, "bad", "short_data.npz"), "w", zipfile.ZIP_DEFLATED) as z:
    put(z, "X_ids.npy", npy_bytes(np.array(["1", "2"], dtype=str)))
    put(z, "X_embeddings.npy", npy_bytes(np.ones((2, 3), dtype=np.float32))[:-5])
with open(os.path.join(out, "bad", "bad.json"), "w") as f:
    f.write('{"7": [{"go_id": "GO:0005515", "category": "F",,}\n')
with open(os.path.join(out, "bad", "not_object.json"), "w") as f:
    f.write('[1, 2, 3]\n')
print("wrote fixtures under", out)
