# Makes tests/fixtures/esmc/: a tiny random-weight ESM C built with EvolutionaryScale's own `esm` package
# (PyPI `esm`, class esm.models.esmc.ESMC, use_flash_attn=False, its own sequence tokenizer) and the
# package's hidden states, run in float64 on the CPU.
# Run: python tools/make_esmc_golden.py OUTDIR
#   venv: /work/torch-venv/bin/python -m venv /work/esmc-venv; a .pth file in its site-packages pointing at
#   torch-venv's site-packages; pip install --no-deps esm==3.2.1.post1 (it pins transformers<4.48.2, which
#   would replace the torch venv's transformers), then its imports: einops attrs zstd cloudpathlib tenacity
#   pandas scipy biotite brotli msgpack-numpy biopython httpx. Used: esm 3.2.1.post1, torch 2.15 (CPU),
#   transformers 5.24 (tokenizer only).
# Layout written (the hub layout of EvolutionaryScale/esmc-*-2024-12 plus a tiny config.json):
#   OUTDIR/config.json                 {"model_type": "esmc", "n_heads": 2} (the published repos have none: d_model/64 heads)
#   OUTDIR/data/weights/esmc_tiny.pth  torch.save(ESMC.state_dict()), float32 storages
#   OUTDIR/bf16/esmc_tiny_bf16.pth     the same state dict in bfloat16 storages (+ bf16/config.json)
#   OUTDIR/golden.bin / golden.json    per case: ids, then n_layers hidden states + `embeddings`, f32
# Every weight is perturbed away from its init and then rounded to a bf16-representable value, so the f32
# and bf16 files hold identical numbers and share one golden.
import json, os, sys, numpy as np, torch, esm
from esm.models.esmc import ESMC
from esm.tokenization import get_esmc_model_tokenizers
from esm.utils import encoding

o = sys.argv[1]
D, NH, NL = 24, 2, 3
torch.manual_seed(0)
tok = get_esmc_model_tokenizers()
m = ESMC(d_model=D, n_heads=NH, n_layers=NL, tokenizer=tok, use_flash_attn=False).eval()
with torch.no_grad():
    for n, p in m.named_parameters():
        if p.ndim == 1 and n.endswith("weight"):  # LayerNorm gains
            p.copy_(1 + 0.2 * torch.randn_like(p))
        elif p.ndim == 1:  # LayerNorm / head biases
            p.copy_(0.3 * torch.randn_like(p))
        else:  # Linear / embedding: about unit-variance outputs
            p.copy_(torch.randn_like(p) * (1.0 if n == "embed.weight" else 1.2 / p.shape[1] ** 0.5))
        p.copy_(p.bfloat16().float())
os.makedirs(o + "/data/weights", exist_ok=True)
os.makedirs(o + "/bf16", exist_ok=True)
sd = {k: v.clone() for k, v in m.state_dict().items()}
torch.save(sd, o + "/data/weights/esmc_tiny.pth")
torch.save({k: v.bfloat16() for k, v in sd.items()}, o + "/bf16/esmc_tiny_bf16.pth")
for d in (o, o + "/bf16"):
    json.dump({"model_type": "esmc", "n_heads": NH}, open(d + "/config.json", "w"))
m = m.double().eval()
rs = np.random.RandomState(1)
S = ["A", "XUBZO", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", "MKT_AYI_KQ", "ACJJ*DEb",
     "".join(rs.choice(list("ACDEFGHIKLMNPQRSTVWY"), 1025))]
TOK = ["", "a", "ACDE FG", "<mask>A<cls>", "\u00e9", "AB|CD", "AC..-", "<unk>", "<pad>A<eos>", "X_X", "__",
       "JJ*", "<MASK>", "<mas", "ac", "A\tC", "\U0001F600A", "LAGVSERTIDPKQNFYMHWCXBUZO"]
J = {"esm": esm.__version__ if hasattr(esm, "__version__") else "3.2.1.post1", "torch": torch.__version__,
     "precision": "float64", "d_model": D, "n_heads": NH, "n_layers": NL, "keys": sorted(sd),
     "tokenizer_cases": [{"seq": s, "ids": encoding.tokenize_sequence(s, tok).tolist()} for s in TOK],
     "cases": []}
off = 0
with open(o + "/golden.bin", "wb") as fb:
    for s in S:
        ids = encoding.tokenize_sequence(s, tok)
        with torch.no_grad():
            r = m(sequence_tokens=ids[None])
        hs = [h[0].numpy() for h in r.hidden_states] + [r.embeddings[0].numpy()]
        a = np.stack(hs).astype("<f4")
        a.tofile(fb)
        J["cases"].append({"seq": s, "ids": ids.tolist(), "T": len(ids), "n_states": len(hs), "offset": off})
        off += a.size
json.dump(J, open(o + "/golden.json", "w"), indent=1)
print({k: v for k, v in J.items() if k not in ("cases", "tokenizer_cases", "keys")}, [c["T"] for c in J["cases"]])
