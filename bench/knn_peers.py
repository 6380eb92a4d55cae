#!/usr/bin/env python3
"""Peers for bench/knn_bench.c, on the SAME data (Q.npy / R.npy written by knn_bench --npy DIR).

* FANTASIA's CPU path (lookup.py, spec §5.7): SciPy cdist(Q, T, metric) in float64, then a full argsort
  per query. It is slow, so it runs on a subset of queries and the time is extrapolated linearly per query
  (cdist and argsort are both linear in the number of queries).
* faiss-cpu brute force: IndexFlatIP on L2-normalised vectors (cosine) and IndexFlatL2 (euclidean), with
  the same thread count; optionally on a subset of queries, extrapolated the same way.

Reads the "RESULT" lines that knn_bench printed (--ours FILE) and prints one summary table with ratios.
Missing SciPy or faiss is reported clearly and the corresponding columns say "missing".
"""
import argparse
import os
import sys
import time

try:
    import numpy as np
except ImportError:
    np = None


def parse_ours(path):
    ours, sgemm = {}, None
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and p[0] == "RESULT":
                if p[1] == "sgemm":
                    sgemm = float(p[4])
                elif p[1] == "ours":
                    ours[(p[2], int(p[3]))] = float(p[4])
    return ours, sgemm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--npy", required=True, help="directory holding Q.npy and R.npy")
    ap.add_argument("--ours", required=True, help="knn_bench output (RESULT lines)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--k", default="1,50")
    ap.add_argument("--metric", default="cosine,euclidean")
    ap.add_argument("--scipy-queries", type=int, default=50, help="queries run through cdist+argsort")
    ap.add_argument("--faiss-queries", type=int, default=2000, help="queries run through faiss (0 = all)")
    a = ap.parse_args()

    ks = [int(x) for x in a.k.split(",")]
    metrics = a.metric.split(",")
    ours, sgemm = parse_ours(a.ours)
    cdist = faiss = None
    if np is None:
        print("knn_peers: numpy is MISSING (pip install numpy scipy faiss-cpu, or set PYTHON): no peer measured")
    else:
        Q = np.load(os.path.join(a.npy, "Q.npy"), mmap_mode="r")
        R = np.load(os.path.join(a.npy, "R.npy"))
        nq = Q.shape[0]
        print(f"knn_peers: {nq} queries x {R.shape[0]} references x {R.shape[1]} dims, {a.threads} threads")
        try:
            from scipy.spatial.distance import cdist
        except ImportError:
            print("knn_peers: SciPy is MISSING (pip install scipy): FANTASIA CPU path not measured")
        try:
            import faiss
        except ImportError:
            print("knn_peers: faiss-cpu is MISSING (pip install faiss-cpu): faiss not measured")

    scipy_t, faiss_t = {}, {}
    if cdist is not None:
        ns = min(a.scipy_queries, nq)
        Rd = R.astype(np.float64)  # FANTASIA stacks float64 matrices; conversion not timed
        Qd = np.asarray(Q[:ns], dtype=np.float64)
        for m in metrics:
            t0 = time.perf_counter()
            d = cdist(Qd, Rd, m)
            for i in range(ns):
                np.argsort(d[i])  # FANTASIA: full argsort per query, then threshold, then [:k]
            t = time.perf_counter() - t0
            full = t / ns * nq
            print(f"scipy cdist+argsort {m}: {ns} queries in {t:.2f} s -> {full:.1f} s extrapolated to {nq} "
                  f"queries ({t / ns * 1e3:.1f} ms per query; same for every k)")
            for k in ks:
                scipy_t[(m, k)] = full
        del Rd
    if faiss is not None:
        faiss.omp_set_num_threads(a.threads)
        nf = nq if a.faiss_queries <= 0 else min(a.faiss_queries, nq)
        Qf = np.ascontiguousarray(Q[:nf], dtype=np.float32)
        for m in metrics:
            if m == "cosine":
                Rn = R / np.maximum(np.linalg.norm(R, axis=1, keepdims=True), 1e-12)
                Qn = Qf / np.maximum(np.linalg.norm(Qf, axis=1, keepdims=True), 1e-12)
                index = faiss.IndexFlatIP(R.shape[1])
                index.add(np.ascontiguousarray(Rn, dtype=np.float32))
                qx = np.ascontiguousarray(Qn, dtype=np.float32)
            else:
                index = faiss.IndexFlatL2(R.shape[1])
                index.add(np.ascontiguousarray(R))
                qx = Qf
            for k in ks:
                t0 = time.perf_counter()
                index.search(qx, k)
                t = time.perf_counter() - t0
                full = t / nf * nq
                how = "" if nf == nq else f" -> {full:.1f} s extrapolated to {nq} queries"
                print(f"faiss {type(index).__name__} {m} k={k}: {nf} queries in {t:.2f} s{how}")
                faiss_t[(m, k)] = full
            del index

    def fmt(x):
        return "missing" if x is None else f"{x:.1f}"

    print()
    print("Summary (seconds for all queries; peers extrapolated per query where a subset was run)")
    print(f"{'metric':<10} {'k':>5} {'ours':>9} {'sgemm':>9} {'ours/sgemm':>11} {'scipy':>10} {'speed-up':>9} "
          f"{'faiss':>9} {'speed-up':>9}")
    for m in metrics:
        for k in ks:
            o = ours.get((m, k))
            s = scipy_t.get((m, k)) if cdist is not None else None
            f = faiss_t.get((m, k)) if faiss is not None else None
            ratio = f"{100.0 * sgemm / o:.1f}%" if (o and sgemm) else "-"
            su = f"{s / o:.1f}x" if (o and s) else "-"
            fu = f"{f / o:.2f}x" if (o and f) else "-"
            print(f"{m:<10} {k:>5} {fmt(o):>9} {fmt(sgemm):>9} {ratio:>11} {fmt(s):>10} {su:>9} {fmt(f):>9} {fu:>9}")
    print("ours/sgemm = bare sgemm time / our lookup time (throughput ratio; target >= 85%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
