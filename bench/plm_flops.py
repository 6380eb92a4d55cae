#!/usr/bin/env python3
"""Float32 operations one forward pass over a FASTA costs for an ESM-2 or T5-encoder model directory,
counting 2 FLOPs per multiply-add of every linear layer (tokens x in x out) and of attention (q.k^T and
p.v: 2 x T^2 x inner each, per layer); norms, activations and softmax are left out (a few % at most), so
the number is a lower bound of the work. Tokens as fantasia-c's default pooling runs them: ESM-2 L + 2
(<cls>, <eos>), T5 L + 1 (</s>); the HF peer adds FANTASIA's "<AA2fold>" prefix for T5 (a token or two
more per sequence). bench/plm_bench.sh logs the line; bench/plm_summary.py turns it into GFLOPS.
Usage: plm_flops.py KIND MODEL_DIR FASTA   (python3 standard library only)
Prints: FLOPS kind=esm2 gflop=... tokens=... sequences=..."""
import json
import os
import sys

if len(sys.argv) != 4:
    sys.exit("usage: plm_flops.py KIND MODEL_DIR FASTA")
kind, model, fasta = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    cfg = json.load(open(os.path.join(model, "config.json")))
except (OSError, ValueError) as e:
    sys.exit(f"plm_flops.py: {os.path.join(model, 'config.json')}: {e}")
lens, cur = [], None
try:
    lines = open(fasta).read().splitlines()
except OSError as e:
    sys.exit(f"plm_flops.py: {fasta}: {e}")
for line in lines:
    line = line.strip()
    if line.startswith(">"):
        if cur is not None:
            lens.append(cur)
        cur = 0
    elif line and cur is not None:
        cur += len(line)
if cur is not None:
    lens.append(cur)

try:
    if cfg.get("model_type") == "esm":
        H, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
        per_tok = 2 * L * (4 * H * H + 2 * H * F)  # q k v o, FFN up and down
        inner, extra = H, 2
    else:  # T5 encoder: q k v [I, d], o [d, I], FFN wi (wi_0 + wi_1 when gated) and wo
        d, F, L = cfg["d_model"], cfg["d_ff"], cfg["num_layers"]
        inner = cfg["num_heads"] * cfg["d_kv"]
        gated = cfg.get("feed_forward_proj", "relu").startswith("gated")
        per_tok = 2 * L * (4 * d * inner + (3 if gated else 2) * d * F)
        extra = 1
except (KeyError, TypeError, AttributeError) as e:
    sys.exit(f"plm_flops.py: {model}/config.json: missing or bad field {e} (ESM-2 or T5 encoder expected)")
flop = 0
for n in lens:
    T = n + extra
    flop += T * per_tok + L * 4 * T * T * inner
print(f"FLOPS kind={kind} gflop={flop / 1e9:.1f} tokens={sum(lens) + extra * len(lens)} sequences={len(lens)}")
