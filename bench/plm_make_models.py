#!/usr/bin/env python3
"""Writes the random-weight model directories for bench/plm_bench.sh, in Hugging Face hub layout.

  plm_make_models.py OUTDIR [--size full|small] [--only esm2|t5]

full  = the published shapes: facebook/esm2_t33_650M_UR50D (EsmForMaskedLM: 33 layers, d 1280, 20 heads,
        ffn 5120, vocab 33) and Rostlab/prot_t5_xl_uniref50's encoder (T5EncoderModel: d_model 1024, d_kv 128,
        32 heads, d_ff 16384, 24 layers, relu, vocab 128), float32.
small = ESM-2 35M-like (12 layers, d 480, 20 heads, ffn 1920) and a 4-layer T5 (d_model 256, d_kv 32, 8 heads,
        d_ff 1024): for checking the harness in a minute.
Weights: Hugging Face's own random initialisation with torch.manual_seed(0) (speed does not depend on values;
the init keeps every value finite and away from denormals). Each directory holds config.json, the tokenizer
files (ESM-2: vocab.txt + tokenizer_config.json + special_tokens_map.json copied from tests/fixtures/esm2;
ProtT5: the 28-piece ProtT5 spiece.model from tests/fixtures/tokenize/prott5, vocab 128 with the 100
<extra_id_*>) and model.safetensors. A directory that already has a model.safetensors and the same
config.json is kept as is (the ProtT5-XL one takes about a minute and 4.9 GB to make).
Needs torch, transformers, safetensors (/work/torch-venv/bin/python).
"""
import argparse
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures")

SIZES = {
    "full": {
        "esm2": dict(hidden_size=1280, num_hidden_layers=33, num_attention_heads=20, intermediate_size=5120),
        "t5": dict(d_model=1024, d_kv=128, num_heads=32, d_ff=16384, num_layers=24),
    },
    "small": {
        "esm2": dict(hidden_size=480, num_hidden_layers=12, num_attention_heads=20, intermediate_size=1920),
        "t5": dict(d_model=256, d_kv=32, num_heads=8, d_ff=1024, num_layers=4),
    },
}
NAMES = {"esm2": "esm2_t33_650M_UR50D", "t5": "prot_t5_xl_uniref50_encoder"}


def model_dir(out, size, kind):
    return os.path.join(out, f"{NAMES[kind]}-random" + ("" if size == "full" else "-small"))


def make(out, size, kind):
    import torch
    import transformers
    from transformers import EsmConfig, EsmForMaskedLM, T5Config, T5EncoderModel

    d = model_dir(out, size, kind)
    if kind == "esm2":
        cfg = EsmConfig(vocab_size=33, mask_token_id=32, pad_token_id=1, eos_token_id=2,
                        max_position_embeddings=1026, position_embedding_type="rotary", token_dropout=True,
                        emb_layer_norm_before=False, layer_norm_eps=1e-5, hidden_act="gelu",
                        architectures=["EsmForMaskedLM"], **SIZES[size]["esm2"])
    else:
        cfg = T5Config(vocab_size=128, num_decoder_layers=SIZES[size]["t5"]["num_layers"],
                       relative_attention_num_buckets=32, relative_attention_max_distance=128,
                       layer_norm_epsilon=1e-6, feed_forward_proj="relu", dropout_rate=0.1, pad_token_id=0,
                       eos_token_id=1, decoder_start_token_id=0, is_encoder_decoder=False,
                       architectures=["T5EncoderModel"], **SIZES[size]["t5"])
    want = cfg.to_dict()
    cfg_path = os.path.join(d, "config.json")
    if os.path.exists(os.path.join(d, "model.safetensors")) and os.path.exists(cfg_path):
        have = json.load(open(cfg_path))
        keys = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "d_model",
                "d_kv", "num_heads", "d_ff", "num_layers", "model_type"]
        if all(have.get(k) == want.get(k) for k in keys):
            print(f"plm_make_models: {d} already made", file=sys.stderr)
            return d
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    torch.manual_seed(0)
    with torch.no_grad():
        m = (EsmForMaskedLM if kind == "esm2" else T5EncoderModel)(cfg).eval()
    n = sum(p.numel() for p in m.parameters())
    m.save_pretrained(d, safe_serialization=True)
    if kind == "esm2":
        # the published checkpoint's key set: LayerNorm.weight/.bias (transformers 5 saves .gamma/.beta)
        # and every layer's rotary inv_freq buffer (not saved by current transformers); esm-cpp needs both
        from safetensors.torch import load_file, save_file

        st = os.path.join(d, "model.safetensors")
        sd = {k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): v
              for k, v in load_file(st).items()}
        hd = cfg.hidden_size // cfg.num_attention_heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        for i in range(cfg.num_hidden_layers):
            sd.setdefault(f"esm.encoder.layer.{i}.attention.self.rotary_embeddings.inv_freq", inv.clone())
        save_file(sd, st + ".tmp", metadata={"format": "pt"})
        os.replace(st + ".tmp", st)
        del sd
        for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(FIX, "esm2", f), d)
    else:
        shutil.copy(os.path.join(FIX, "tokenize", "prott5", "spiece.model"), d)
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": False, "extra_ids": 100, "model_max_length": 1000000000,
                       "tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "unk_token": "<unk>",
                       "pad_token": "<pad>"}, f, indent=1)
        with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
            json.dump({"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}, f)
    with open(os.path.join(d, "MADE_BY"), "w") as f:
        f.write(f"bench/plm_make_models.py --size {size}: random weights (torch.manual_seed(0)), "
                f"{n} parameters, torch {torch.__version__}, transformers {transformers.__version__}\n")
    print(f"plm_make_models: wrote {d} ({n / 1e6:.0f}M parameters, {time.time() - t0:.0f} s)", file=sys.stderr)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    ap.add_argument("--only", choices=["esm2", "t5"], action="append")
    a = ap.parse_args()
    for kind in a.only or ["esm2", "t5"]:
        print(make(a.out, a.size, kind))


if __name__ == "__main__":
    main()
