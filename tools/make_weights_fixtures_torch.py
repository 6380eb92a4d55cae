#!/usr/bin/env python3
"""Writes tests/fixtures/weights/real_torch/: checkpoints saved by REAL torch.save (run where torch is
installed, e.g. the GPU machine), to check the C reader against torch itself and not only against the
stub-pickle fixtures of make_weights_fixtures.py. Values are multiples of 1/8 (exact in f16/bf16).
Usage: python3 tools/make_weights_fixtures_torch.py [outdir]
"""
import collections
import json
import os
import sys

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures",
                                                         "weights", "real_torch")
os.makedirs(OUT, exist_ok=True)
DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def v(*shape, seed=0, dtype=torch.float32):
    n = 1
    for s in shape:
        n *= s
    x = torch.tensor([((i * 7 + seed * 3) % 23 - 11) / 8.0 for i in range(n)], dtype=torch.float64)
    return x.reshape(shape).to(dtype)


emb = v(5, 4, seed=1)
sd = collections.OrderedDict()
sd["esm.embeddings.word_embeddings.weight"] = emb
sd["esm.encoder.layer.0.attention.self.query.weight"] = v(4, 4, seed=2, dtype=torch.float16)
sd["esm.encoder.layer.0.attention.self.query.bias"] = v(4, seed=3, dtype=torch.bfloat16)
sd["esm.embeddings.position_ids"] = torch.arange(5).unsqueeze(0)
sd["lm_head.decoder.weight"] = emb  # tied: same storage
sd["esm.view.transposed"] = emb.t()  # non-contiguous view of the same storage
sd["esm.view.slice"] = emb[1:4, ::2]  # offset + stride 2
sd["esm.scalar"] = torch.tensor(0.375)
lin = torch.nn.Linear(3, 2)
with torch.no_grad():
    lin.weight.copy_(v(2, 3, seed=4))
    lin.bias.copy_(v(2, seed=5))
for k, t in lin.state_dict().items():
    sd["esm.linear." + k] = t

exp = {k: {"dtype": DT[t.dtype], "shape": list(t.shape),
           "values": [float(x) for x in t.double().contiguous().reshape(-1).tolist()]} for k, t in sd.items()}
torch.save(sd, os.path.join(OUT, "pytorch_model.bin"))
torch.save(sd, os.path.join(OUT, "p4.pth"), pickle_protocol=4)
torch.save({"model": sd, "epoch": 1}, os.path.join(OUT, "nested.pt"))
params = collections.OrderedDict((k, torch.nn.Parameter(t.float())) for k, t in list(sd.items())[:2])
torch.save(params, os.path.join(OUT, "params.pt"))
torch.save(sd, os.path.join(OUT, "legacy.pt"), _use_new_zipfile_serialization=False)
exp_params = {k: {"dtype": "F32", "shape": list(t.shape), "values": [float(x) for x in t.double().reshape(-1).tolist()]}
              for k, t in params.items()}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"torch_version": torch.__version__, "state_dict": exp, "params": exp_params}, f, indent=1)
print("torch", torch.__version__, "->", OUT, sorted(os.listdir(OUT)))
