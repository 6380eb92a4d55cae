# Full-size ESM C check (not part of ctest: 650 MB of weights, about a minute on 2 cores): a random-weight
# model of the ESMC 300M shape (d_model 960, 30 layers, heads = d/64 = 15 taken from the default rule,
# bf16 storage, no config.json) built with EvolutionaryScale's esm package, its hidden states in float64
# and float32 for one 250-residue sequence, then tools/esmc_fullsize_check.c compares ours to them.
# Run (venv as in tools/make_esmc_golden.py):
#   python tools/esmc_fullsize_check.py DIR
#   gcc -O2 -std=c11 -D_GNU_SOURCE -Iinclude tools/esmc_fullsize_check.c build/libfantasia.a \
#       /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so -lcjson -lzip -lz -lm -lpthread -o /tmp/chk
#   /tmp/chk DIR
# Result 2026-11-29 (this dev machine): worst max|diff|/max|ref| over the 31 states 1.2e-6 vs float64,
# 1.6e-6 vs float32.
import sys, time, numpy as np, torch
from esm.models.esmc import ESMC
from esm.tokenization import get_esmc_model_tokenizers
from esm.utils import encoding

o = sys.argv[1]

import os
os.makedirs(o + "/data/weights", exist_ok=True)
torch.manual_seed(0)
torch.set_num_threads(2)
tok = get_esmc_model_tokenizers()
m = ESMC(d_model=960, n_heads=15, n_layers=30, tokenizer=tok, use_flash_attn=False).eval()
with torch.no_grad():
    for n, p in m.named_parameters():
        if p.ndim == 1 and n.endswith("weight"): p.copy_(1 + 0.2 * torch.randn_like(p))
        elif p.ndim == 1: p.copy_(0.1 * torch.randn_like(p))
        else: p.copy_(torch.randn_like(p) * (1.0 if n == "embed.weight" else 1.0 / p.shape[1] ** 0.5))
        p.copy_(p.bfloat16().float())
torch.save({k: v.bfloat16() for k, v in m.state_dict().items()}, o + "/data/weights/esmc_300m_test.pth")
seq = "".join(np.random.RandomState(2).choice(list("ACDEFGHIKLMNPQRSTVWY"), 250))
open(o + "/seq.txt", "w").write(seq)
ids = encoding.tokenize_sequence(seq, tok)
for dt, name in ((torch.float64, "f64"), (torch.float32, "f32")):
    mm = m.to(dt)
    t = time.time()
    with torch.no_grad(): r = mm(sequence_tokens=ids[None])
    print(name, "forward s", time.time() - t)
    a = np.concatenate([r.hidden_states[:, 0].numpy(), r.embeddings.numpy()]).astype("<f4")
    a.tofile(o + "/ref_%s.bin" % name)
