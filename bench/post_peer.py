#!/usr/bin/env python3
"""Peer for bench/post_bench.c: FANTASIA's stage-C post-processing (spec §7.2, §7.6) re-implemented with
Polars (the library FANTASIA uses for summary.csv) and with pandas, vectorised over ALL rows at once
(FANTASIA itself loops over accession groups, which is slower; this is a favourable peer).

Usage: post_peer.py RAW_TSV OUT_DIR      (prints "PEER <name> total <seconds>" per library)
Shipped config: metrics ri:[max], identity:[min,max,mean], identity_sw:[min,max,mean]; weights
max_ri 0.4, max_id_g 0.2, max_id_l 0.2, count 0.2; k = 1; precision 4. Counting is FANTASIA's (rows).
"""
import os
import sys
import time

COLS = ["accession", "model_name", "layer_index", "go_id", "category", "protein_id", "reliability_index",
        "identity", "identity_sw"]
K = 1
W = {"max_ri": 0.4, "max_id_g": 0.2, "max_id_l": 0.2, "count": 0.2}
WSUM = sum(W.values())
ITEMS = ["max_ri", "min_id_g", "max_id_g", "mean_id_g", "min_id_l", "max_id_l", "mean_id_l", "count"]


def run_polars(tsv, out):
    import polars as pl
    t0 = time.perf_counter()
    df = pl.read_csv(tsv, separator="\t", columns=COLS, schema_overrides={"layer_index": pl.Int64})
    per_term = df.group_by(["accession", "go_id"]).agg(
        pl.len().alias("term_count"),
        pl.col("protein_id").cast(pl.Utf8).unique().sort().str.join("|").alias("proteins"))
    stats = df.group_by(["accession", "go_id", "model_name", "layer_index"]).agg(
        pl.col("reliability_index").max().alias("max_ri"),
        pl.col("identity").min().alias("min_id_g"), pl.col("identity").max().alias("max_id_g"),
        pl.col("identity").mean().alias("mean_id_g"),
        pl.col("identity_sw").min().alias("min_id_l"), pl.col("identity_sw").max().alias("max_id_l"),
        pl.col("identity_sw").mean().alias("mean_id_l"),
        (pl.len() / K).alias("count"))
    wcols = [(pl.col(c).fill_null(0) * w / WSUM).round(4).alias("w_" + c) for c, w in W.items()]
    stats = stats.with_columns(wcols)
    stats = stats.with_columns(pl.sum_horizontal([pl.col("w_" + c) for c in W]).alias("final_score"))
    order = []
    for c in ITEMS:
        order.append(c)
        if c in W:
            order.append("w_" + c)
    order.append("final_score")
    stats = stats.with_columns(
        (pl.col("model_name") + "_L" + pl.col("layer_index").cast(pl.Utf8)).alias("ml"))
    wide = stats.pivot(on="ml", index=["accession", "go_id"], values=order)
    wide = wide.with_columns([pl.col(c).cast(pl.Float32) for c in wide.columns if c not in ("accession", "go_id")])
    res = per_term.join(wide, on=["accession", "go_id"], how="left").sort(["accession", "go_id"])
    cols = ["accession", "go_id", "term_count"] + [c for c in wide.columns if c not in ("accession", "go_id")] + \
        ["proteins"]
    res.select(cols).write_csv(os.path.join(out, "summary_polars.csv"))
    # TopGO per model/layer/category: distinct (accession, go_id, RI)
    tg = df.select(["model_name", "layer_index", "category", "accession", "go_id", "reliability_index"]).drop_nulls(
        ["model_name", "layer_index", "category"])
    for (m, l, c), g in tg.group_by(["model_name", "layer_index", "category"]):
        d = os.path.join(out, "topgo_polars", str(m), "layer_%d" % l)
        os.makedirs(d, exist_ok=True)
        g.select(["accession", "go_id", "reliability_index"]).unique().write_csv(
            os.path.join(d, "%s.topgo" % c), separator="\t", include_header=False)
    ens = tg.sort("reliability_index", descending=True).unique(["accession", "go_id", "category"], keep="first")
    d = os.path.join(out, "topgo_polars", "ensemble")
    os.makedirs(d, exist_ok=True)
    for (c,), g in ens.group_by(["category"]):
        g.sort(["accession", "go_id"]).select(["accession", "go_id", "reliability_index"]).write_csv(
            os.path.join(d, "%s.topgo" % c), separator="\t", include_header=False)
    return time.perf_counter() - t0


def run_pandas(tsv, out):
    import numpy as np
    import pandas as pd
    t0 = time.perf_counter()
    df = pd.read_csv(tsv, sep="\t", usecols=COLS)
    g = df.groupby(["accession", "go_id"], sort=False)
    per_term = g.size().rename("term_count").to_frame()
    per_term["proteins"] = g["protein_id"].agg(lambda s: "|".join(sorted(set(map(str, s)))))
    s = df.groupby(["accession", "go_id", "model_name", "layer_index"], sort=False).agg(
        max_ri=("reliability_index", "max"), min_id_g=("identity", "min"), max_id_g=("identity", "max"),
        mean_id_g=("identity", "mean"), min_id_l=("identity_sw", "min"), max_id_l=("identity_sw", "max"),
        mean_id_l=("identity_sw", "mean"), count=("reliability_index", "size"))
    s["count"] = s["count"] / K
    for c, w in W.items():
        s["w_" + c] = np.round(s[c].fillna(0) * w / WSUM, 4)
    s["final_score"] = sum(s["w_" + c] for c in W)
    order = []
    for c in ITEMS:
        order.append(c)
        if c in W:
            order.append("w_" + c)
    order.append("final_score")
    s = s[order].astype("float32").reset_index()
    s["ml"] = s["model_name"] + "_L" + s["layer_index"].astype(str)
    wide = s.pivot(index=["accession", "go_id"], columns="ml", values=order)
    wide.columns = ["%s_%s" % (a, b) for a, b in wide.columns]
    res = per_term.join(wide, how="left").reset_index().sort_values(["accession", "go_id"])
    cols = ["accession", "go_id", "term_count"] + list(wide.columns) + ["proteins"]
    res[cols].to_csv(os.path.join(out, "summary_pandas.csv"), index=False)
    tg = df.dropna(subset=["model_name", "layer_index", "category"])
    for (m, l, c), gg in tg.groupby(["model_name", "layer_index", "category"]):
        d = os.path.join(out, "topgo_pandas", str(m), "layer_%d" % int(l))
        os.makedirs(d, exist_ok=True)
        gg[["accession", "go_id", "reliability_index"]].drop_duplicates().to_csv(
            os.path.join(d, "%s.topgo" % c), sep="\t", header=False, index=False)
    ens = tg.sort_values("reliability_index", ascending=False).drop_duplicates(["accession", "go_id", "category"])
    d = os.path.join(out, "topgo_pandas", "ensemble")
    os.makedirs(d, exist_ok=True)
    for c, gg in ens.groupby("category"):
        gg.sort_values(["accession", "go_id"])[["accession", "go_id", "reliability_index"]].to_csv(
            os.path.join(d, "%s.topgo" % c), sep="\t", header=False, index=False)
    return time.perf_counter() - t0


def main():
    tsv, out = sys.argv[1], sys.argv[2]
    for name, fn in (("polars", run_polars), ("pandas", run_pandas)):
        try:
            secs = fn(tsv, out)
        except ImportError as e:
            print("peer %s unavailable: %s" % (name, e))
            continue
        print("PEER %s total %.3f" % (name, secs), flush=True)


if __name__ == "__main__":
    main()
