#!/usr/bin/env python3
"""Makes tests/fixtures/weights/: tiny checkpoints in safetensors, sharded safetensors and PyTorch zip
(.bin/.pth) form, plus damaged files, and expected.json (name -> dtype, shape, values as f32).

torch could not be installed on the dev machine (download.pytorch.org unreachable; the PyPI wheel pulls
GBs of CUDA libraries), so the .bin/.pth archives are written by Python's own `pickle` with stub
classes registered as `torch._utils._rebuild_tensor_v2`, `torch.FloatStorage`, ... that reproduce
torch.save's pickle layout (protocol 2, persistent ids ('storage', cls, key, 'cpu', numel), an
OrderedDict with a `_metadata` attribute, `_rebuild_tensor_v2(storage, offset, size, stride, False,
OrderedDict())`) and its zip layout (STORED records aligned to 64 bytes with an 'FB' extra field,
`<root>/data.pkl`, `<root>/byteorder`, `<root>/data/<key>`, `<root>/version`).
Values are multiples of 1/8 so that f16 and bf16 hold them exactly.
Usage: python3 tools/make_weights_fixtures.py [outdir]
"""
import collections
import json
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "weights")

# ---------------------------------------------------------------- stub torch modules for pickling
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _rebuild_tensor_v2(*a):  # never called: only pickled by reference
    raise RuntimeError


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


def _rebuild_parameter(*a):
    raise RuntimeError


_rebuild_parameter.__module__ = "torch._utils"
torch_utils._rebuild_parameter = _rebuild_parameter

STORAGE_NAMES = {"F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage", "I64": "LongStorage"}
for n in STORAGE_NAMES.values():
    cls = type(n, (), {})
    cls.__module__ = "torch"
    setattr(torch, n, cls)


class Storage:
    def __init__(self, key, dtype, raw):
        self.key, self.dtype, self.raw = key, dtype, raw

    @property
    def numel(self):
        return len(self.raw) // {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}[self.dtype]


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))


class Param:
    def __init__(self, t):
        self.t = t

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.t, True, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, STORAGE_NAMES[obj.dtype]), obj.key, "cpu", obj.numel)
        return None


# ---------------------------------------------------------------- encoding helpers
def encode(dtype, arr):
    arr = np.asarray(arr, dtype=np.float64)
    if dtype == "F32":
        return arr.astype("<f4").tobytes()
    if dtype == "F16":
        return arr.astype("<f2").tobytes()
    if dtype == "BF16":
        bits = arr.astype("<f4").view("<u4") >> 16
        return bits.astype("<u2").tobytes()
    if dtype == "I64":
        return arr.astype("<i8").tobytes()
    raise ValueError(dtype)


def vals(n, seed):
    return [((i * 7 + seed * 3) % 23 - 11) / 8.0 for i in range(n)]


# Logical tensors: name -> (dtype, shape, row-major values)
TENSORS = collections.OrderedDict()
TENSORS["model.encoder.embed.weight"] = ("F32", [3, 4], vals(12, 1))
TENSORS["model.encoder.layer.0.ln.bias"] = ("F16", [5], vals(5, 2))
TENSORS["model.encoder.layer.0.attn.weight"] = ("BF16", [2, 3], vals(6, 3))
TENSORS["model.encoder.scale"] = ("F32", [], [0.375])
TENSORS["model.encoder.position_ids"] = ("I64", [1, 4], [0, 1, 2, 3])
TENSORS["decoder.block.0.weight"] = ("F32", [2], [1.0, -1.0])
TENSORS["lm_head.weight"] = ("F16", [2, 2], vals(4, 4))


def st_bytes(tensors, header_extra=None, pad=True):
    header, blobs, off = {}, [], 0
    for name, (dt, shape, v) in tensors.items():
        raw = encode(dt, v)
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    if header_extra:
        header_extra(header)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write(path, data):
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(data)


def torch_zip(path, root, obj, storages, protocol=2, byteorder="little"):
    import io

    buf = io.BytesIO()
    TorchPickler(buf, protocol=protocol).dump(obj)
    with zipfile.ZipFile(os.path.join(OUT, path), "w", compression=zipfile.ZIP_STORED) as zf:

        def add(name, data):
            zi = zipfile.ZipInfo(f"{root}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED
            pos = zf.fp.tell() + 30 + len(zi.filename.encode()) + 4
            pad = (-pos) % 64
            zi.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            zf.writestr(zi, data)

        add("data.pkl", buf.getvalue())
        add("byteorder", byteorder)
        for s in storages:
            raw = s.raw
            if byteorder == "big":
                es = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}[s.dtype]
                raw = b"".join(raw[i:i + es][::-1] for i in range(0, len(raw), es))
            add(f"data/{s.key}", raw)
        add("version", "3\n")


def zip64_copy(src, dst):
    """Rewrites a zip so that every size and offset goes through ZIP64 records (as torch.save does for
    files over 4 GiB): 0xFFFFFFFF in the 32-bit fields, the values in 0x0001 extra fields, a ZIP64
    end-of-central-directory record and locator."""
    import zlib
    with zipfile.ZipFile(os.path.join(OUT, src)) as zf:
        entries = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    out, central = bytearray(), bytearray()
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        off = len(out)
        lx = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(lx))
        out += nb + lx + data
        cx = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
                               0xFFFFFFFF, len(nb), len(cx), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cx
    cd_off = len(out)
    out += central
    z64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    write(dst, bytes(out))


def torch_state(tensors, views=True, params=False):
    """State dict with one storage per tensor, plus (views=True) tied/strided views into them."""
    sd = collections.OrderedDict()
    storages = []
    for i, (name, (dt, shape, v)) in enumerate(tensors.items()):
        raw = encode(dt, v)
        if dt == "F32" and shape == [3, 4] and views:
            # storage with 2 leading junk elements, the tensor at offset 2
            raw = encode(dt, [9.0, 9.0]) + raw
            s = Storage(str(i), dt, raw)
            sd[name] = Tensor(s, 2, shape, [4, 1])
            # transposed view of the same storage (non-contiguous, tied)
            sd[name + ".T"] = Tensor(s, 2, [4, 3], [1, 4])
            # every other column: [3, 2] with strides (4, 2), offset 3 (skip first column)
            sd[name + ".cols"] = Tensor(s, 3, [3, 2], [4, 2])
        else:
            s = Storage(str(i), dt, raw)
            stride, acc = [], 1
            for d in reversed(shape):
                stride.insert(0, acc)
                acc *= d
            t = Tensor(s, 0, shape, stride)
            sd[name] = Param(t) if params and shape else t
        storages.append(s)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd, storages


def expected_views(tensors):
    exp = collections.OrderedDict()
    for name, (dt, shape, v) in tensors.items():
        exp[name] = {"dtype": dt, "shape": shape, "values": v}
        if dt == "F32" and shape == [3, 4]:
            a = np.array(v).reshape(3, 4)
            exp[name + ".T"] = {"dtype": dt, "shape": [4, 3], "values": a.T.reshape(-1).tolist()}
            exp[name + ".cols"] = {"dtype": dt, "shape": [3, 2], "values": a[:, 1::2].reshape(-1).tolist()}
    return exp


def main():
    os.makedirs(OUT, exist_ok=True)
    # -- safetensors
    write("model.safetensors", st_bytes(TENSORS))
    # -- sharded safetensors
    names = list(TENSORS)
    shards = [collections.OrderedDict((n, TENSORS[n]) for n in names[:3]),
              collections.OrderedDict((n, TENSORS[n]) for n in names[3:])]
    wm = {}
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    for i, sh in enumerate(shards):
        fn = f"model-{i + 1:05d}-of-00002.safetensors"
        write(os.path.join("sharded", fn), st_bytes(sh))
        wm.update({n: fn for n in sh})
    write(os.path.join("sharded", "model.safetensors.index.json"),
          json.dumps({"metadata": {"total_size": 0}, "weight_map": wm}, indent=1).encode())
    # -- torch zip, protocol 2 with views, tied storage, Parameters
    sd, storages = torch_state(TENSORS, views=True)
    torch_zip("pytorch_model.bin", "pytorch_model", sd, storages, protocol=2)
    # protocol 4 (FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE), nn.Parameter values, root "archive"
    sd4, st4 = torch_state(TENSORS, views=False, params=True)
    torch_zip("model_p4.pth", "archive", {"model": sd4, "epoch": 3}, st4, protocol=4)
    zip64_copy("pytorch_model.bin", "model_zip64.bin")
    # big-endian byteorder record
    sdb, stb = torch_state(TENSORS, views=True)
    torch_zip("model_big.pt", "model_big", sdb, stb, protocol=2, byteorder="big")
    # sharded .bin
    os.makedirs(os.path.join(OUT, "sharded_bin"), exist_ok=True)
    wm = {}
    for i, sh in enumerate(shards):
        fn = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        s, sts = torch_state(sh, views=False)
        torch_zip(os.path.join("sharded_bin", fn), fn[:-4], s, sts)
        wm.update({n: fn for n in sh})
    write(os.path.join("sharded_bin", "pytorch_model.bin.index.json"),
          json.dumps({"metadata": {"total_size": 0}, "weight_map": wm}, indent=1).encode())

    exp = {"plain": {n: {"dtype": d, "shape": s, "values": v} for n, (d, s, v) in TENSORS.items()},
           "views": expected_views(TENSORS)}
    write("expected.json", json.dumps(exp, indent=1).encode())

    # -- damaged inputs
    bad = os.path.join(OUT, "bad")
    os.makedirs(bad, exist_ok=True)

    def setk(key, field, value):
        def f(h):
            h[key][field] = value
        return f

    first = names[0]
    write("bad/unknown_dtype.safetensors", st_bytes(TENSORS, setk(first, "dtype", "F8_E4M3")))
    write("bad/size_mismatch.safetensors", st_bytes(TENSORS, setk(first, "shape", [3, 5])))
    write("bad/out_of_range.safetensors", st_bytes(TENSORS, setk(names[-1], "data_offsets", [10080, 10088])))
    write("bad/overlap.safetensors", st_bytes(TENSORS, setk(names[1], "data_offsets", [40, 50])))
    write("bad/bad_offsets.safetensors", st_bytes(TENSORS, setk(first, "data_offsets", [48, 0])))
    write("bad/neg_shape.safetensors", st_bytes(TENSORS, setk(first, "shape", [-3, -16])))
    good = st_bytes(TENSORS)
    hl = struct.unpack("<Q", good[:8])[0]
    write("bad/header_past_eof.safetensors", struct.pack("<Q", len(good) * 4) + good[8:])
    write("bad/malformed_json.safetensors", good[:8] + good[8:8 + hl].replace(b'"shape"', b'"shape" ::', 1)
          .replace(b"  ", b"", 1)[:hl].ljust(hl, b" ") + good[8 + hl:])
    write("bad/truncated.safetensors", good[:len(good) - 7])
    write("bad/tiny.safetensors", good[:5])
    write("bad/index_missing_shard.safetensors.index.json",
          json.dumps({"weight_map": {"a": "nope.safetensors"}}).encode())
    write("bad/index_malformed.safetensors.index.json", b'{"weight_map": {"a": ')

    # legacy torch.save: starts with a pickled magic number (LONG1), not a zip
    write("bad/legacy.pt", pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2))

    # pickle with an unknown global (os.system) and one with an unknown opcode
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    import io
    for fname, payload in [("unknown_global.bin", pickle.dumps({"w": Evil()}, protocol=2)),
                           ("unknown_opcode.bin", b"\x80\x02}q\x00\x8f."),
                           ("truncated_pickle.bin", pickle.dumps({"w": 1}, protocol=2)[:-3])]:
        with zipfile.ZipFile(os.path.join(bad, fname), "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(zipfile.ZipInfo("archive/data.pkl", (2020, 1, 1, 0, 0, 0)), payload)
            zf.writestr(zipfile.ZipInfo("archive/version", (2020, 1, 1, 0, 0, 0)), "3\n")
    # a storage view reaching past its storage
    s = Storage("0", "F32", encode("F32", [1, 2, 3]))
    o = collections.OrderedDict([("w", Tensor(s, 1, [2, 2], [2, 1]))])
    torch_zip("bad/view_past_storage.bin", "view_past_storage", o, [s])
    # missing storage record
    s = Storage("7", "F32", encode("F32", [1, 2, 3]))
    o = collections.OrderedDict([("w", Tensor(s, 0, [3], [1]))])
    torch_zip("bad/missing_storage.bin", "missing_storage", o, [])
    # truncated zip
    with open(os.path.join(OUT, "pytorch_model.bin"), "rb") as f:
        z = f.read()
    write("bad/truncated_zip.bin", z[: len(z) // 2])
    write("bad/torchscript.pt", open(os.path.join(OUT, "pytorch_model.bin"), "rb").read())
    with zipfile.ZipFile(os.path.join(bad, "torchscript.pt"), "w") as zf:
        zf.writestr(zipfile.ZipInfo("m/data.pkl", (2020, 1, 1, 0, 0, 0)), b"\x80\x02}.")
        zf.writestr(zipfile.ZipInfo("m/constants.pkl", (2020, 1, 1, 0, 0, 0)), b"\x80\x02).")


if __name__ == "__main__":
    main()
