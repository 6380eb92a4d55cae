#!/usr/bin/env python3
"""Peer side of bench/plm_bench.sh: embeds a FASTA with Hugging Face transformers (float32, PyTorch CPU) the
way FANTASIA runs its models, or with esm-cpp (PyPI, ESM-2 only), and prints one result line

  RESULT side=<engine> model=<dir name> mode=<bs1|batched|packed> n=<seqs> residues=<R> tokens=<T>
         load_s=<s> forward_s=<s> res_per_s=<R/forward_s> peak_rss_mib=<process peak RSS>

  plm_peer.py --engine hf|esmcpp --model DIR --fasta FILE [--threads 2] [--layer 0] [--mode bs1|batched]
              [--batch-tokens 8192] [--batch-max 16]

hf, mode bs1 (FANTASIA, spec section 4): model.eval(), torch.no_grad(), output_hidden_states=True, one sequence
  per forward. ESM-2: EsmModel + AutoTokenizer on the raw sequence, mean over residue positions of
  hidden_states[-(layer+1)]. T5 (model_type t5): T5EncoderModel + T5Tokenizer(do_lower_case=False) on
  "<AA2fold> " + spaced sequence with [UZOB]->X, mean over every non-pad token.
hf, mode batched: the same, sequences sorted by length and padded to the longest of each batch (at most
  --batch-max sequences and --batch-tokens padded tokens), attention mask honoured in the pooling.
esmcpp (ESM-2 only; float32 weights straight from model.safetensors, ESM_NUM_THREADS threads): mode bs1 uses
  Model.forward_with_hidden_states per sequence; mode batched is not timed (its packed scheduler returns
  logits only).
load_s covers reading the model (and tokenizer); forward_s the loop over sequences incl. tokenisation and
pooling. peak_rss_mib is ru_maxrss of this process (one process per engine/model/mode in plm_bench.sh).
"""
import argparse
import json
import os
import re
import resource
import sys
import time


def read_fasta(path):
    out, acc, buf = [], None, []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if acc is not None:
                    out.append((acc, "".join(buf)))
                acc, buf = line[1:].split()[0] if len(line) > 1 else "", []
            elif line:
                buf.append(line)
    if acc is not None:
        out.append((acc, "".join(buf)))
    return out


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def batches(seqs, max_tokens, max_n, extra):
    """Length-sorted batches whose padded size (n * (longest + extra)) stays under max_tokens."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    cur = []
    for i in order:
        longest = len(seqs[i]) + extra  # sorted ascending: the newcomer is the longest
        if cur and (len(cur) + 1 > max_n or (len(cur) + 1) * longest > max_tokens):
            yield cur
            cur = []
        cur.append(i)
    if cur:
        yield cur


def run_hf(a, recs):
    import torch
    from transformers import AutoTokenizer, EsmModel, T5EncoderModel, T5Tokenizer

    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    is_t5 = cfg.get("model_type") in ("t5", "mt5")
    t0 = time.perf_counter()
    if is_t5:
        tok = T5Tokenizer.from_pretrained(a.model, do_lower_case=False)
        model = T5EncoderModel.from_pretrained(a.model, output_hidden_states=True, dtype=torch.float32)
    else:
        tok = AutoTokenizer.from_pretrained(a.model)
        model = EsmModel.from_pretrained(a.model, output_hidden_states=True, add_pooling_layer=False)
    model = model.eval()
    load_s = time.perf_counter() - t0

    def text(s):  # spec 4.3
        if not is_t5:
            return s
        return "<AA2fold> " + " ".join(re.sub(r"[UZOB]", "X", s)) if s.isupper() else "<fold2AA> " + " ".join(s)

    seqs = [s for _, s in recs]
    groups = [[i] for i in range(len(seqs))] if a.mode == "bs1" else list(
        batches(seqs, a.batch_tokens, a.batch_max, 4 if is_t5 else 2))
    tokens = 0
    pooled = [None] * len(seqs)
    t0 = time.perf_counter()
    with torch.no_grad():
        for g in groups:
            enc = tok([text(seqs[i]) for i in g], return_tensors="pt", padding="longest", truncation=False,
                      add_special_tokens=True)
            out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
            h = out.hidden_states[-(a.layer + 1)]
            m = enc["attention_mask"].clone()
            if not is_t5:  # ESM-2: residues only (CLS and EOS masked out)
                m[:, 0] = 0
                m[torch.arange(m.shape[0]), enc["attention_mask"].sum(1) - 1] = 0
            m = m.unsqueeze(-1).to(h.dtype)
            e = (h * m).sum(1) / m.sum(1).clamp(min=1)
            for j, i in enumerate(g):
                pooled[i] = e[j].numpy().tolist()
            tokens += int(enc["attention_mask"].sum())
    fwd_s = time.perf_counter() - t0
    return load_s, fwd_s, tokens


def run_esmcpp(a, recs):
    import numpy as np

    os.environ["ESM_NUM_THREADS"] = str(a.threads)  # read at first model load
    import esm_cpp

    cfg = json.load(open(os.path.join(a.model, "config.json")))
    if cfg.get("model_type", "esm") != "esm":
        raise SystemExit("esm-cpp runs ESM-2 only")
    if a.mode != "bs1":
        raise SystemExit("esm-cpp: only mode bs1 is timed (packed batches return logits only)")
    t0 = time.perf_counter()
    model = esm_cpp.Model.load_from_safetensors(os.path.join(a.model, "model.safetensors"))
    tok = esm_cpp.Tokenizer()
    load_s = time.perf_counter() - t0
    tokens = 0
    t0 = time.perf_counter()
    for _, s in recs:
        ids = np.asarray(tok.encode(s, add_special=True, truncate=False), dtype=np.int32)
        _, hs = model.forward_with_hidden_states(ids)
        h = hs[-(a.layer + 1)]
        _ = h[1:-1].mean(0).tolist()
        tokens += len(ids)
    fwd_s = time.perf_counter() - t0
    print(f"# esm-cpp {esm_cpp.__version__} isa={esm_cpp.current_isa()} threads={esm_cpp.Model.num_threads}",
          file=sys.stderr)
    return load_s, fwd_s, tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["hf", "esmcpp"], default="hf")
    ap.add_argument("--model", required=True)
    ap.add_argument("--fasta", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layer", type=int, default=0)
    ap.add_argument("--mode", choices=["bs1", "batched"], default="bs1")
    ap.add_argument("--batch-tokens", type=int, default=8192)
    ap.add_argument("--batch-max", type=int, default=16)
    a = ap.parse_args()
    recs = read_fasta(a.fasta)
    residues = sum(len(s) for _, s in recs)
    load_s, fwd_s, tokens = (run_hf if a.engine == "hf" else run_esmcpp)(a, recs)
    print(f"RESULT side={a.engine} model={os.path.basename(os.path.normpath(a.model))} mode={a.mode} "
          f"n={len(recs)} residues={residues} tokens={tokens} load_s={load_s:.2f} forward_s={fwd_s:.2f} "
          f"res_per_s={residues / fwd_s:.1f} peak_rss_mib={peak_rss_mib():.0f}", flush=True)


if __name__ == "__main__":
    main()
