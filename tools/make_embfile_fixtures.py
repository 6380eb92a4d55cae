#!/usr/bin/env python3
"""Make the embeddings.h5 fixtures of tests/fixtures/embfile/, and check C-written files with h5py.

    python3 tools/make_embfile_fixtures.py [OUTDIR]      # default: tests/fixtures/embfile
    python3 tools/make_embfile_fixtures.py --verify FILE # check a file written by test_embfile --write-sample

Needs numpy + h5py (Debian: python3-numpy python3-h5py; with a pip numpy in ~/.local use
`/usr/bin/python3 -s`). The files follow FANTASIA 4.1.1's writer (fantasia/src/embedder.py, store_entry):
h5py.File(path, "a"), require_group("accession_<acc>") / "type_<id>" / "layer_<k>",
create_dataset("embedding", data=<list of float>) -> float64, layer_group.attrs["shape"] = (D,) -> int64,
create_dataset("sequence", data=seq.encode()) -> scalar numpy 'S<n>'.

Values follow formulas that tests/test_embfile.c recomputes (see value() below), so no expected-value
files are needed. Every fixture stays well under 50 KB.
"""
import os
import sys

import h5py
import numpy as np

# Accessions as FANTASIA stores them ('|' -> '_'), deliberately inserted out of name order.
ACCS = [("sp_Q9XYZ1_TEST", "MKTAYIAKQR"), ("sp_A0A001_TEST", "MSTNPKPQRKTKRNTNRRPQDVKFPGG"),
        ("tr_B2C3D4_TEST", "MAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ("P12345", "ACDEFGHIKLMNPQRSTVWYX")]


def value(acc_no, model_no, layer, i):
    """Exact in float32 except element 0, which is 0.1*(acc_no+1) (a float64 the reader must round)."""
    if i == 0:
        return 0.1 * (acc_no + 1)
    return ((acc_no + 1) * 1000 + model_no * 100 + layer * 10 + i) / 64.0


def vec(acc_no, model_no, layer, dim):
    return [value(acc_no, model_no, layer, i) for i in range(dim)]


def store_entry(f, acc, seq, type_id, layer, emb):
    """FANTASIA's store_entry for one record."""
    ag = f.require_group(f"accession_{acc}")
    tg = ag.require_group(f"type_{type_id}")
    lg = tg.require_group(f"layer_{layer}")
    if "embedding" not in lg:
        lg.create_dataset("embedding", data=emb)
        lg.attrs["shape"] = tuple(np.asarray(emb).shape)
    if "sequence" not in ag:
        ag.create_dataset("sequence", data=seq.encode("utf-8"))


def fantasia_f64(path):
    """FANTASIA default: float64 lists, numeric type ids, layers 0 and 1 of Prot-T5 (3), layer 0 of ESM (1)."""
    with h5py.File(path, "a") as f:
        for model_no, type_id, layers, dim in ((0, 3, (0, 1), 16), (1, 1, (0,), 12)):
            for layer in layers:
                for a, (acc, seq) in enumerate(ACCS):
                    store_entry(f, acc, seq, type_id, layer, vec(a, model_no, layer, dim))


def names_f32(path):
    """float32 with type names and a pooling attribute (what fantasia.c writes), one layer 3."""
    with h5py.File(path, "w") as f:
        for a, (acc, seq) in enumerate(ACCS[:3]):
            ag = f.create_group(f"accession_{acc}")
            ag.create_dataset("sequence", data=np.bytes_(seq))
            for model_no, name, layer, dim, pool in ((0, "Prot-T5", 3, 8, None),
                                                     (1, "kmer", 0, 20, "kmer-composition-k1")):
                tg = ag.require_group(f"type_{name}")
                if pool:
                    tg.attrs["pooling"] = pool  # str -> variable-length UTF-8, as h5py writes it
                lg = tg.create_group(f"layer_{layer}")
                lg.create_dataset("embedding", data=np.asarray(vec(a, model_no, layer, dim), np.float32))
                lg.attrs["shape"] = np.array([dim], np.int64)


F16_SPECIAL = [65504.0, -65504.0, 6.103515625e-05, 5.960464477539063e-08, -2.0 ** -20, 0.0, -0.0, 1.0 / 3.0]


def f16_values(a, dim):
    v = [((a + 1) * 7 + i * 3) / 16.0 for i in range(dim)]
    if a == 0:
        v[:len(F16_SPECIAL)] = F16_SPECIAL
    return v


def f16(path):
    """numpy float16 (h5py's own 16-bit IEEE type), plus one big-endian dataset."""
    with h5py.File(path, "w") as f:
        for a, (acc, seq) in enumerate(ACCS[:3]):
            ag = f.create_group(f"accession_{acc}")
            ag.create_dataset("sequence", data=np.bytes_(seq))
            lg = ag.create_group("type_5").create_group("layer_0")
            dt = ">f2" if a == 2 else "<f2"
            lg.create_dataset("embedding", data=np.asarray(f16_values(a, 10), np.float16).astype(dt))
            lg.attrs["shape"] = np.array([10], np.int64)


def legacy(path):
    """Legacy layout type_<id>/embedding without layer groups and without the shape attribute;
    plus a big-endian float64 dataset and a top-level group that is not an accession."""
    with h5py.File(path, "w") as f:
        for a, (acc, seq) in enumerate(ACCS[:2]):
            ag = f.create_group(f"accession_{acc}")
            ag.create_dataset("sequence", data=np.bytes_(seq))
            dt = ">f8" if a == 1 else "<f8"
            ag.create_group("type_3").create_dataset("embedding", data=np.asarray(vec(a, 0, 0, 6), dt))
        f.create_group("metadata").attrs["note"] = "not an accession"


def bf16(path):
    """bfloat16-shaped 16-bit floats (sign 15, exponent 7..14, mantissa 0..6, bias 127), raw bits written
    through the low-level API so HDF5 converts nothing. Values are exact in bfloat16."""
    with h5py.File(path, "w") as f:
        t = h5py.h5t.IEEE_F32LE.copy()
        t.set_fields(15, 7, 8, 0, 7)
        t.set_size(2)
        t.set_ebias(127)
        for a, (acc, seq) in enumerate(ACCS[:2]):
            ag = f.create_group(f"accession_{acc}")
            ag.create_dataset("sequence", data=np.bytes_(seq))
            lg = ag.create_group("type_ESM3c").create_group("layer_1")
            vals = np.array([(a + 1) * 1.5, -2.5, 3.140625, 0.0, 2.0 ** -100, -(2.0 ** 100)], np.float32)
            raw = (vals.view(np.uint32) >> 16).astype(np.uint16)
            d = h5py.h5d.create(lg.id, b"embedding", t, h5py.h5s.create_simple((len(vals),)))
            d.write(h5py.h5s.ALL, h5py.h5s.ALL, raw, mtype=t)


def odd_structure(path):
    """Things FANTASIA's reader passes over: a layer group without embedding, a non-canonical layer name,
    'type_' with no model, a type_<x> that is a dataset, a top-level dataset named accession_*, a
    non-accession top-level group; plus one good embedding per accession."""
    with h5py.File(path, "w") as f:
        for a, (acc, seq) in enumerate(ACCS[:2]):
            ag = f.create_group(f"accession_{acc}")
            ag.create_dataset("sequence", data=np.bytes_(seq))
            tg = ag.create_group("type_3")
            tg.create_group("layer_0").create_dataset("embedding", data=np.asarray(vec(a, 0, 0, 4)))
            tg.create_group("layer_2")  # no embedding
            tg.create_group("layer_01").create_dataset("embedding", data=np.zeros(9))  # not canonical
            ag.create_group("type_").create_group("layer_0").create_dataset("embedding", data=np.zeros(9))
            ag.create_dataset("type_9", data=np.zeros(3))
        f.create_dataset("accession_NOT_A_GROUP", data=np.zeros(2))
        f.create_group("metadata")


def simple(path, mutate=None, n=3, dim=6):
    with h5py.File(path, "w") as f:
        for a, (acc, seq) in enumerate(ACCS[:n]):
            ag = f.create_group(f"accession_{acc}")
            ag.create_dataset("sequence", data=np.bytes_(seq))
            lg = ag.create_group("type_3").create_group("layer_0")
            lg.create_dataset("embedding", data=np.asarray(vec(a, 0, 0, dim), np.float64))
            lg.attrs["shape"] = np.array([dim], np.int64)
        if mutate:
            mutate(f)


def replace_embedding(f, acc, data):
    lg = f[f"accession_{acc}/type_3/layer_0"]
    del lg["embedding"]
    lg.create_dataset("embedding", data=data)


def make_all(out):
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".h5"):
            os.remove(os.path.join(out, name))
    p = lambda n: os.path.join(out, n)
    fantasia_f64(p("fantasia_f64.h5"))
    names_f32(p("names_f32.h5"))
    f16(p("f16.h5"))
    legacy(p("legacy.h5"))
    bf16(p("bf16.h5"))
    odd_structure(p("odd_structure.h5"))
    # damaged files
    simple(p("dim_mismatch.h5"), lambda f: replace_embedding(f, ACCS[1][0], np.zeros(7)))
    simple(p("nan.h5"), lambda f: replace_embedding(f, ACCS[2][0], np.array([0.5, 1.0, np.nan, 2.0, 3.0, 4.0])))
    simple(p("inf.h5"), lambda f: replace_embedding(f, ACCS[0][0], np.array([0.5, -np.inf, 1, 2, 3, 4], np.float32)))
    simple(p("not_1d.h5"), lambda f: replace_embedding(f, ACCS[1][0], np.ones((1, 6))))
    simple(p("int_embedding.h5"), lambda f: replace_embedding(f, ACCS[1][0], np.arange(6, dtype=np.int32)))

    def drop_seq(f):
        del f[f"accession_{ACCS[1][0]}/sequence"]
        f.create_group("accession_EMPTY_GROUP")  # no sequence, no embedding

    simple(p("missing_sequence.h5"), drop_seq)

    def seq_number(f):
        del f[f"accession_{ACCS[0][0]}/sequence"]
        f[f"accession_{ACCS[0][0]}"].create_dataset("sequence", data=np.int64(42))

    simple(p("seq_not_string.h5"), seq_number)

    def pool_mismatch(f):
        f[f"accession_{ACCS[0][0]}/type_3"].attrs["pooling"] = "mean"
        f[f"accession_{ACCS[1][0]}/type_3"].attrs["pooling"] = "cls"

    simple(p("pooling_mismatch.h5"), pool_mismatch)

    def no_emb(f):
        for acc, _ in ACCS[:3]:
            del f[f"accession_{acc}/type_3"]

    simple(p("no_embeddings.h5"), no_emb)
    with h5py.File(p("empty.h5"), "w"):
        pass
    with open(p("fantasia_f64.h5"), "rb") as src:
        data = src.read()
    with open(p("truncated.h5"), "wb") as dst:
        dst.write(data[: len(data) // 2])
    with open(p("not_hdf5.h5"), "w") as dst:
        dst.write(">P12345\nMKTAYIAKQR\n")
    for name in sorted(os.listdir(out)):
        size = os.path.getsize(p(name))
        assert size < 50_000, f"{name} is {size} bytes"
        print(f"{size:7d}  {p(name)}")


# ---- verification of a file written by our C writer (test_embfile --write-sample) ----
# Must match write_sample() in tests/test_embfile.c.
SAMPLE_ACCS = ["S1", "S2_x", "S3"]
SAMPLE_DIM = 37


def sample_value(a, i):
    x = np.float32((i * 37 + a * 11) % 101 - 50) / np.float32(7.0)
    if i == 0:
        x = np.float32(65504.0 if a == 0 else 65519.0 if a == 1 else 1e-7)  # max, rounds to max, subnormal
    return np.float32(x)


def verify(path):
    ok = True

    def fail(msg):
        nonlocal ok
        ok = False
        print("FAIL:", msg)

    with h5py.File(path, "r") as f:
        for a, acc in enumerate(SAMPLE_ACCS):
            g = f[f"accession_{acc}"]
            seq = g["sequence"][()]
            if not isinstance(seq, bytes) or seq != ("ACDEFGHIK" * (a + 1)).encode():
                fail(f"{acc}: sequence {seq!r}")
            want32 = np.array([sample_value(a, i) for i in range(SAMPLE_DIM)], np.float32)
            for model, dt in (("f64", np.float64), ("f32", np.float32), ("f16", np.float16)):
                tg = g[f"type_{model}"]
                pool = tg.attrs.get("pooling")
                if pool != f"pool-{model}":
                    fail(f"{acc}/{model}: pooling {pool!r}")
                lg = tg["layer_2"]
                shape = lg.attrs.get("shape")
                if shape is None or shape.dtype != np.int64 or list(shape) != [SAMPLE_DIM]:
                    fail(f"{acc}/{model}: shape attribute {shape!r}")
                got = lg["embedding"][:]
                if got.dtype != dt:
                    fail(f"{acc}/{model}: dtype {got.dtype}, expected {np.dtype(dt)}")
                want = want32.astype(dt)
                if dt == np.float16:
                    same = np.array_equal(got.view(np.uint16), want.view(np.uint16))
                else:
                    same = np.array_equal(got, want)
                if not same:
                    bad = np.nonzero(got != want)[0]
                    fail(f"{acc}/{model}: values differ at {bad[:5]}: got {got[bad[:5]]} want {want[bad[:5]]}")
            leg = g["type_legacy/embedding"][:]
            if leg.dtype != np.float32 or not np.array_equal(leg, want32[:5]):
                fail(f"{acc}: legacy embedding {leg}")
    print("OK" if ok else "MISMATCH", path)
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        sys.exit(0 if verify(sys.argv[2]) else 1)
    here = os.path.dirname(os.path.abspath(__file__))
    make_all(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "embfile"))
