# Makes tests/fixtures/esm2/: a tiny random ESM-2 (HF layout) + float64 HF hidden states. Needs torch+transformers.
# Run: python3 tools/make_esm2_golden.py OUTDIR   (ran on the GPU machine's CPU, float64; transformers 5.17,
# torch 2.11; the special_tokens_map.json fallback below was added afterwards, the committed file has the same content)
import json,os,sys,shutil,numpy as np,torch
from transformers import EsmConfig,EsmForMaskedLM,EsmModel,EsmTokenizer
o=sys.argv[1];os.makedirs(o,exist_ok=True);torch.manual_seed(0)
V="<cls> <pad> <eos> <unk> L A G V S E R T I D P K Q N F Y M H W C X B U Z O . - <null_1> <mask>".split()
open(o+"/vocab.txt","w").write("\n".join(V)+"\n")
tok=EsmTokenizer(o+"/vocab.txt");tok.save_pretrained(o+"/t")
for f in["tokenizer_config.json","special_tokens_map.json"]:
  if os.path.exists(o+"/t/"+f):shutil.copy(o+"/t/"+f,o)
shutil.rmtree(o+"/t")
if not os.path.exists(o+"/special_tokens_map.json"):  # transformers 5 no longer writes it; hub ESM-2 dirs have it
  json.dump({k:f"<{k[:-6]}>" for k in["cls_token","eos_token","mask_token","pad_token","unk_token"]},open(o+"/special_tokens_map.json","w"))
c=EsmConfig(vocab_size=33,hidden_size=32,num_hidden_layers=3,num_attention_heads=4,intermediate_size=64,max_position_embeddings=1026,position_embedding_type="rotary",token_dropout=True,emb_layer_norm_before=False,pad_token_id=1,mask_token_id=32,layer_norm_eps=1e-5,hidden_act="gelu")
m=EsmForMaskedLM(c).eval()
with torch.no_grad():
  for n,p in m.named_parameters():
    p.copy_(1+0.2*torch.randn_like(p) if "orm" in n and n.endswith("weight") else 0.3*torch.randn_like(p))
  nb=0
  for n,b in m.named_buffers():
    if "inv_freq" in n:b.copy_(b.half().float());nb+=1
m.save_pretrained(o)
sd=m.state_dict();torch.save(sd,o+"/pytorch_model.bin")
m=EsmModel.from_pretrained(o,attn_implementation="eager").double().eval()
S=["A","XUBZO","MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ","ACJJ*DEb","AC<mask>DE",
 "".join(np.random.RandomState(1).choice(list("ACDEFGHIKLMNPQRSTVWY"),1030))]
J={"keys":sorted(sd),"inv_freq_buffers":nb,"transformers":__import__("transformers").__version__,"torch":torch.__version__,"cases":[]}
off=0
with open(o+"/golden.bin","wb") as fb:
  for s in S:
    ids=tok(s)["input_ids"]
    with torch.no_grad():r=m(torch.tensor([ids]),output_hidden_states=True)
    hs=[h[0].numpy() for h in r.hidden_states]
    a=np.stack(hs).astype("<f4");a.tofile(fb)
    J["cases"].append({"seq":s,"ids":ids,"n_states":len(hs),"T":len(ids),"offset":off,
      "last_eq":bool(torch.equal(r.hidden_states[-1],r.last_hidden_state))});off+=a.size
json.dump(J,open(o+"/golden.json","w"),indent=1)
print({k:v for k,v in J.items() if k!="cases"},[(x["T"],x["last_eq"]) for x in J["cases"]],os.listdir(o))
