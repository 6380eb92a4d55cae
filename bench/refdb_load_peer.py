#!/usr/bin/env python3
"""Peer for bench/refdb_load_bench.c: FANTASIA-Lite style loading of one reference matrix.

  refdb_load_peer.py make STORE NPZ [--compressed]   write NPZ (<Model>_ids + <Model>_embeddings, fp16)
                                                     holding exactly the matrix of our store (read with sqlite3)
  refdb_load_peer.py load NPZ [REPS]                 time np.load(NPZ)["Prot-T5_embeddings"].astype(np.float32)
                                                     (+ ids), cold-ish (posix_fadvise DONTNEED) and warm, median

Prints "RESULT side=numpy mode=<cold|warm> median_s=<s> gbps=<GB/s of fp16 payload>".
"""
import os
import sqlite3
import sys
import time

import numpy as np


def make(store, npz, compressed):
    con = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    ids, blocks, dim = [], [], None
    for n, d, sid, data in con.execute(
            "SELECT n_rows, dim, sequence_ids, data FROM embedding_block WHERE embedding_type_id=3 AND "
            "layer_index=0 ORDER BY block_no"):
        ids.append(np.frombuffer(sid, dtype="<i8"))
        blocks.append(np.frombuffer(data, dtype="<f2").reshape(n, d))
    ids = np.concatenate(ids).astype(str)  # unicode ids, as a Lite bundle that we can also import
    emb = np.concatenate(blocks)
    tmp = npz + ".tmp.npz"
    (np.savez_compressed if compressed else np.savez)(tmp, **{"Prot-T5_ids": ids, "Prot-T5_embeddings": emb})
    os.replace(tmp, npz)
    print("wrote %s: %d x %d fp16%s" % (npz, emb.shape[0], emb.shape[1], " (compressed)" if compressed else ""),
          file=sys.stderr)


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def load_once(npz):
    c0 = time.process_time()
    t0 = time.perf_counter()
    with np.load(npz) as z:
        ids = z["Prot-T5_ids"]
        emb = z["Prot-T5_embeddings"].astype(np.float32)
    dt = time.perf_counter() - t0
    return dt, emb.shape[0] * emb.shape[1] * 2, time.process_time() - c0


def load(npz, reps, label):
    for mode in ("cold", "warm"):
        if mode == "warm":
            load_once(npz)
        ts, cpu = [], 0.0
        for _ in range(reps):
            if mode == "cold":
                drop_cache(npz)
            dt, nbytes, c = load_once(npz)
            ts.append(dt)
            cpu += c
        med = sorted(ts)[len(ts) // 2]
        print("RESULT side=%s mode=%s median_s=%.4f gbps=%.3f bytes=%d cpu_s=%.4f"
              % (label, mode, med, nbytes / med / 1e9, nbytes, cpu / reps), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], "--compressed" in sys.argv[4:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "load":
        reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
        label = sys.argv[4] if len(sys.argv) > 4 else "numpy"
        load(sys.argv[2], reps, label)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
