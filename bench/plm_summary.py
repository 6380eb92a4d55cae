#!/usr/bin/env python3
"""Summary of a bench/plm_bench.sh results file: per model, ours against every peer, and one SUMMARY line
with the ratios ours/peer (speed = forward residues per second, > 1: ours faster; whole = the peer's
whole-command wall time / ours; RSS = our peak RSS / the peer's, > 1: ours uses more memory). CPU is
/usr/bin/time's %P (200% = both cores of a 2-core machine): well below the thread count means the run
shared the machine.
Usage: plm_summary.py RESULTS.txt   (python3 standard library only)"""
import sys


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError, TypeError):
        return None


def fmt(x, spec=".1f"):
    return "?" if x is None else format(x, spec)


runs, gflop, peak = {}, {}, None
for line in open(sys.argv[1]):
    if line.startswith("FLOPS "):
        d = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        gflop[d["kind"]] = num(d, "gflop")
        continue
    if line.startswith("RESULT run=peak-machine"):
        d = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        peak = num(d, "fma_peak_gflops")
        continue
    if not line.startswith("RESULT run=") or "FAILED" in line:
        continue
    d = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    name = d["run"]
    kind = name.rsplit("-", 1)[1]
    runs.setdefault(kind, {})[name.rsplit("-", 1)[0]] = d

def rate(kind, rps, res):
    """ 'G GFLOPS (P% of peak)' for a side running `rps` residues per second over `res` residues """
    g = gflop.get(kind)
    if not (g and rps and res):
        return ""
    gf = g * rps / res
    return f", {gf:.0f} GFLOPS" + (f" ({100 * gf / peak:.0f}% of the FMA peak)" if peak else "")


if peak:
    print(f"machine: float32 FMA peak {peak:.1f} GFLOPS on the benchmark's threads (bench/fma_peak.c)")
for kind, r in runs.items():
    model = next((d["model"] for d in r.values() if "model" in d), kind)
    res = next((num(d, "residues") for d in r.values() if num(d, "residues")), None)
    n = next((d["n"] for d in r.values() if num(d, "residues")), "?")
    print(f"{kind}: {model}, {n} proteins, {fmt(res, '.0f')} residues")
    cli, load, lib = r.get("ours-cli"), r.get("ours-load"), r.get("ours-lib")
    o_rps = o_whole = o_rss = None
    if cli:
        w, ld = num(cli, "wall_s"), num(load or {}, "load_s")
        fw = w - ld if w is not None and ld is not None else None
        o_rps = res / fw if res and fw and fw > 0 else None
        o_whole, o_rss = w, (num(cli, "peak_rss_kib") or 0) / 1024 or None
        print(f"  {'ours cli':14s} whole {fmt(w)} s = load {fmt(ld, '.2f')} s + forward ~{fmt(fw)} s: "
              f"{fmt(o_rps)} res/s{rate(kind, o_rps, res)}, peak RSS {fmt(o_rss, '.0f')} MiB, "
              f"CPU {cli.get('cpu_pct', '?')}  (fantasia-c embed)")
    if lib:
        rps, rss = num(lib, "res_per_s"), (num(lib, "peak_rss_kib") or 0) / 1024 or None
        print(f"  {'ours lib':14s} load {lib.get('load_s')} s, forward {lib.get('forward_s')} s: {fmt(rps)} res/s"
              f"{rate(kind, rps, res)}, peak RSS {fmt(rss, '.0f')} MiB, whole {lib.get('wall_s')} s, "
              f"CPU {lib.get('cpu_pct', '?')}  (bench/plm_bench.c)")
        o_rps = rps or o_rps  # the directly timed forward loop is the better number
        o_whole = o_whole or num(lib, "wall_s")
        o_rss = o_rss or rss
    ratios = []
    for name, d in r.items():
        if name.startswith("ours"):
            continue
        rps, w, rss = num(d, "res_per_s"), num(d, "wall_s"), (num(d, "peak_rss_kib") or 0) / 1024 or None
        print(f"  {name:14s} load {d.get('load_s')} s, forward {d.get('forward_s')} s: {fmt(rps)} res/s"
              f"{rate(kind, rps, res)}, peak RSS {fmt(rss, '.0f')} MiB, whole {fmt(w)} s, CPU {d.get('cpu_pct', '?')}")
        g = gflop.get(kind)
        if g and rps and res and peak:
            need = 2 * g * rps / res
            print(f"  {'':14s} 2x {name} would need {need:.0f} GFLOPS = {100 * need / peak:.0f}% of the FMA peak")
        parts = []
        if o_rps and rps:
            parts.append(f"speed {o_rps / rps:.2f}x")
        if o_whole and w:
            parts.append(f"whole {w / o_whole:.2f}x")
        if o_rss and rss:
            parts.append(f"RSS {o_rss / rss:.2f}x")
        ratios.append(f"ours/{name} " + ", ".join(parts))
    print(f"SUMMARY {kind}: " + (" | ".join(ratios) if ratios else "no peer result"))
