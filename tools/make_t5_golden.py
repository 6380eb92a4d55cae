# Makes tests/fixtures/t5/: tiny random T5 encoders (HF layout, fp32 safetensors) + HF float64 hidden states.
# Needs torch+transformers (ran on the GPU machine's CPU: transformers 5.17, torch 2.11). Run: python3 tools/make_t5_golden.py OUTDIR
# The silu fixture was made later on this machine's CPU (transformers 5.24, torch 2.15; relu's golden.bin came
# out byte-identical to the committed one) and given relu's spiece.model. The pytorch_model.bin twins were saved later from each model.safetensors
# (T5EncoderModel.from_pretrained(dir).state_dict(), torch 2.15; tied shared/embed_tokens included).
# Token ids: ProtT5 text form (U Z O B -> X, spaces) through tests/fixtures/tokenize/prott5/spiece.model (ids = 3 + index in R).
import json,os,sys,numpy as np,torch
from transformers import T5Config,T5EncoderModel
O=sys.argv[1];R="ALGVSREDTIPKFQNYMHWCXBOUZ"
S=["M","AXUBZOK","MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ","".join(np.random.RandomState(1).choice(list("ACDEFGHIKLMNPQRSTVWY"),100))]
def ids(s):return[3+R.index("X" if c in"UZOB"else c)for c in s]+[1]
C={"relu":("relu",32,128),"gelu":("gated-gelu",16,20),"silu":("gated-silu",64,128)}
for k,(ff,nb,md)in C.items():
  o=O+"/"+k;torch.manual_seed(len(k)+nb)
  c=T5Config(vocab_size=128,d_model=32,d_kv=8,num_heads=4,d_ff=64,num_layers=2,num_decoder_layers=2,relative_attention_num_buckets=nb,relative_attention_max_distance=md,layer_norm_epsilon=1e-6,feed_forward_proj=ff,dropout_rate=0.0)
  m=T5EncoderModel(c).eval()
  with torch.no_grad():
    for n,p in m.named_parameters():
      p.copy_(1+0.2*torch.randn_like(p) if "norm" in n else torch.randn_like(p) if "shared" in n or "bias" in n else 0.2*torch.randn_like(p))
  m.save_pretrained(o);sd=m.state_dict();torch.save(sd,o+"/pytorch_model.bin")  # the .bin twin (added later, see below)
  m=T5EncoderModel.from_pretrained(o,attn_implementation="eager").double().eval()
  J={"keys":sorted(sd),"feed_forward_proj":ff,"act":getattr(c,"dense_act_fn",0),"gated":getattr(c,"is_gated_act",0),"transformers":__import__("transformers").__version__,"cases":[]};off=0
  with open(o+"/golden.bin","wb")as fb:
    for s in S:
      i=ids(s)
      with torch.no_grad():r=m(input_ids=torch.tensor([i]),output_hidden_states=True)
      a=np.stack([h[0].numpy()for h in r.hidden_states]).astype("<f4");a.tofile(fb)
      J["cases"].append({"seq":s,"ids":i,"T":len(i),"n_states":a.shape[0],"offset":off,"last_eq":bool(torch.equal(r.hidden_states[-1],r.last_hidden_state))});off+=a.size
  json.dump(J,open(o+"/golden.json","w"),indent=1)
  print(k,os.listdir(o),J["act"],J["gated"],[(x["T"],x["last_eq"])for x in J["cases"]],float(np.abs(a).max()))
