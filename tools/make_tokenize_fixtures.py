#!/usr/bin/env python3
"""Makes tests/fixtures/tokenize/: tiny tokenizer directories (no download: every file is built here) and
golden.json with the ids Hugging Face produces for each input (transformers 4.x slow tokenizers for
vocab.txt / spiece.model directories, tokenizers' fast pipeline for tokenizer.json directories).
Needs: pip install "transformers<5" sentencepiece tokenizers protobuf.
Usage: python3 tools/make_tokenize_fixtures.py [outdir]
"""
import io
import json
import os
import random
import shutil
import sys
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import Tokenizer, models, pre_tokenizers, processors, normalizers
from transformers import EsmTokenizer, PreTrainedTokenizerFast, T5Tokenizer, T5TokenizerFast

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tokenize")
RES_T5 = "ALGVSREDTIPKFQNYMHWCXBOUZ"  # ProtT5 piece order (spec models.md 2.4.1)
ESM_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>"] + list("LAGVSERTIDPKQNFYMHWCXBUZO.-") + ["<null_1>", "<mask>"]


def d(name):
    p = os.path.join(OUT, name)
    os.makedirs(p, exist_ok=True)
    return p


def protein(rng, n):
    return "".join(rng.choice("LAGVSERTIDPKQNFYMHWC") for _ in range(n))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    rng = random.Random(7)
    golden = {}

    # ---- ESM-2 vocab.txt
    p = d("esm")
    with open(os.path.join(p, "vocab.txt"), "w") as f:
        f.write("\n".join(ESM_VOCAB) + "\n")
    tok = EsmTokenizer(os.path.join(p, "vocab.txt"))
    cases = ["MKTAYIAKQR", "", "M", "MKXBZUO", "mkta", "MKJJTA", "MK J TA", "A<mask>C", "ACDE-.", "M K T",
             "MK<cls>T", "A<unk>B", "M\tK\n", "<mask>", "J", "  ", "A<mas", protein(rng, 40)]
    golden["esm"] = [{"text": c, "ids": tok(c)["input_ids"]} for c in cases]

    # ---- ProtT5-like spiece.model written as protobuf (28 pieces, character-level Unigram with the prefix)
    m = pb.ModelProto()
    for piece, typ in [("<pad>", 3), ("</s>", 3), ("<unk>", 2)]:
        sp = m.pieces.add()
        sp.piece, sp.score, sp.type = piece, 0.0, typ
    for i, c in enumerate(RES_T5):
        sp = m.pieces.add()
        sp.piece, sp.score = "\u2581" + c, -float(i + 1) * 0.5
    m.trainer_spec.model_type = 1
    m.trainer_spec.vocab_size = len(m.pieces)
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = 2, -1, 1, 0
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = True
    m.normalizer_spec.escape_whitespaces = True
    p = d("prott5")
    with open(os.path.join(p, "spiece.model"), "wb") as f:
        f.write(m.SerializeToString())
    tok = T5Tokenizer.from_pretrained(p, legacy=True)
    seq = protein(rng, 30)
    cases = ["M K T A Y", "MKTA", "M K X", "", "M  K   T", " M K ", "M K </s>", "M <extra_id_0> K", "m k",
             "M K J", "<pad>M", " ".join(seq), "M\tK"]
    golden["prott5"] = [{"text": c, "ids": tok(c)["input_ids"]} for c in cases]

    # ---- ProstT5: same spiece + added_tokens.json
    p2 = d("prostt5")
    shutil.copy(os.path.join(p, "spiece.model"), p2)
    added = {c: 128 + i for i, c in enumerate("algvsredtipkfqnymhwc")}
    added["<fold2AA>"] = 148
    added["<AA2fold>"] = 149
    with open(os.path.join(p2, "added_tokens.json"), "w") as f:
        json.dump(added, f)
    tok = T5Tokenizer.from_pretrained(p2, legacy=True)
    cases = ["<AA2fold> M K T A", "<fold2AA> d v v l", "<AA2fold>MKTA", "<AA2fold> " + " ".join(seq), "M K T"]
    golden["prostt5"] = [{"text": c, "ids": tok(c)["input_ids"]} for c in cases]

    # ---- Ankh3-like: a real Unigram spiece.model trained here, with [NLU]/[S2S] user-defined pieces
    corpus = [protein(rng, rng.randint(20, 80)) for _ in range(400)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=buf, model_type="unigram",
                                   vocab_size=60, character_coverage=1.0, user_defined_symbols=["[NLU]", "[S2S]"],
                                   pad_id=0, eos_id=1, unk_id=2, bos_id=-1, normalization_rule_name="identity",
                                   minloglevel=3, num_threads=1, seed_sentencepiece_size=2000)
    p3 = d("ankh3")
    with open(os.path.join(p3, "spiece.model"), "wb") as f:
        f.write(buf.getvalue())
    tok = T5Tokenizer.from_pretrained(p3, legacy=True)
    cases = ["[NLU]" + seq, seq, "[S2S]MK", "", "MKJ", "M K", "JJ", "[NLU]", "MKTAYIAKQRQISFVKSHFSRQ", protein(rng, 60),
             "MK[NLU]TA", "[NLU] MKT"]
    golden["ankh3"] = [{"text": c, "ids": tok(c)["input_ids"]} for c in cases]

    # ---- the same spiece with [NLU]/[S2S] declared in special_tokens_map.json (split off before SentencePiece)
    p3b = d("ankh3_special")
    shutil.copy(os.path.join(p3, "spiece.model"), p3b)
    with open(os.path.join(p3b, "special_tokens_map.json"), "w") as f:
        json.dump({"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                   "additional_special_tokens": ["[NLU]", {"content": "[S2S]", "lstrip": False, "rstrip": False,
                                                           "normalized": False, "single_word": False}]}, f)
    with open(os.path.join(p3b, "tokenizer_config.json"), "w") as f:
        json.dump({"extra_ids": 0, "additional_special_tokens": ["[NLU]", "[S2S]"]}, f)
    tok = T5Tokenizer.from_pretrained(p3b, legacy=True)
    golden["ankh3_special"] = [{"text": c, "ids": tok(c)["input_ids"]} for c in cases]

    # ---- tokenizer.json, Unigram + Metaspace (converted from the Ankh3-like slow tokenizer by transformers)
    p4 = d("json_unigram")
    fast = T5TokenizerFast.from_pretrained(p3, from_slow=True, legacy=True)
    fast.backend_tokenizer.save(os.path.join(p4, "tokenizer.json"))
    tj = PreTrainedTokenizerFast(tokenizer_file=os.path.join(p4, "tokenizer.json"))
    golden["json_unigram"] = [{"text": c, "ids": tj(c)["input_ids"]} for c in cases]

    # ---- tokenizer.json converted without legacy: Metaspace prepend_scheme "first"
    p4b = d("json_unigram_first")
    fast = T5TokenizerFast.from_pretrained(p3, from_slow=True, legacy=False)
    fast.backend_tokenizer.save(os.path.join(p4b, "tokenizer.json"))
    tj = PreTrainedTokenizerFast(tokenizer_file=os.path.join(p4b, "tokenizer.json"))
    golden["json_unigram_first"] = [{"text": c, "ids": tj(c)["input_ids"]} for c in cases]

    # ---- tokenizer.json, ESM C style: character BPE without merges, template <cls> $A <eos>
    p5 = d("json_bpe")
    vocab = {t: i for i, t in enumerate(ESM_VOCAB[:31] + ["|", "<mask>"])}
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    bpe.add_special_tokens(["<cls>", "<pad>", "<eos>", "<unk>", "<mask>"])
    bpe.post_processor = processors.TemplateProcessing(single="<cls> $A <eos>", pair="<cls> $A <eos> $B:1 <eos>:1",
                                                       special_tokens=[("<cls>", 0), ("<eos>", 2)])
    bpe.save(os.path.join(p5, "tokenizer.json"))
    tj = PreTrainedTokenizerFast(tokenizer_file=os.path.join(p5, "tokenizer.json"))
    cases5 = ["MKTAYIAK", "", "MKJJT", "A<mask>C", "M|K", "mk", "M K", protein(rng, 30)]
    golden["json_bpe"] = [{"text": c, "ids": tj(c)["input_ids"]} for c in cases5]

    # ---- tokenizer.json, BPE with merges and a WhitespaceSplit pre-tokenizer
    p6 = d("json_bpe_merges")
    v = {t: i for i, t in enumerate(["<s>", "</s>", "<unk>", "M", "K", "T", "A", "MK", "TA", "MKTA", "AA", "Y"])}
    bm = Tokenizer(models.BPE(vocab=v, merges=[("M", "K"), ("T", "A"), ("MK", "TA"), ("A", "A")], unk_token="<unk>"))
    bm.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    bm.add_special_tokens(["<s>", "</s>", "<unk>"])
    bm.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)])
    bm.save(os.path.join(p6, "tokenizer.json"))
    tj = PreTrainedTokenizerFast(tokenizer_file=os.path.join(p6, "tokenizer.json"))
    cases6 = ["MKTA", "MKTAAAY", "MK TA", "AAA", "MKQ", "", "TAMK MKTA", "YY</s>"]
    golden["json_bpe_merges"] = [{"text": c, "ids": tj(c)["input_ids"]} for c in cases6]

    # ---- tokenizer.json, WordLevel + WhitespaceSplit, Ankh "list(seq)" style on a spaced string
    p7 = d("json_wordlevel")
    wv = {t: i for i, t in enumerate(["<pad>", "</s>", "<unk>"] + list("ALGVSREDTIPKFQNYMHWC"))}
    wl = Tokenizer(models.WordLevel(vocab=wv, unk_token="<unk>"))
    wl.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    wl.add_special_tokens(["<pad>", "</s>", "<unk>"])
    wl.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    wl.save(os.path.join(p7, "tokenizer.json"))
    tj = PreTrainedTokenizerFast(tokenizer_file=os.path.join(p7, "tokenizer.json"))
    cases7 = ["M K T A", "MK T", "", "M J K", "M </s> K", " ".join(seq)]
    golden["json_wordlevel"] = [{"text": c, "ids": tj(c)["input_ids"]} for c in cases7]

    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
    for k, v in golden.items():
        for c in v[:14]:
            print(k, repr(c["text"][:30]), c["ids"][:24])


if __name__ == "__main__":
    main()
