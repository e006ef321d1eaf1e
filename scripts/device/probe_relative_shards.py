#!/usr/bin/env python3
"""Does transformers' from_pretrained follow a weight_map whose shard names point into a sibling
folder ("../trunk/model-00001-of-00003.safetensors"), as moedist's node directories do?

Builds DIR/trunk (a copy of the example checkpoint's shards) and DIR/node-0 (config, tokenizer and
an index whose every shard name is "../trunk/<shard>"), loads both with
AutoModelForCausalLM.from_pretrained and compares their logits on a fixed input. Prints one JSON
line: {"loads": bool, "error": str|null, "max_abs_diff": float|null, "transformers": version}.
Runs on the GPU machine (torch + transformers); CPU works too.

Usage: python3 probe_relative_shards.py [CHECKPOINT] [DIR]
"""
import json, os, shutil, sys

import torch
import transformers
from transformers import AutoModelForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
ckpt = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../examples/model/checkpoint")
work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/relative-shards"
shutil.rmtree(work, ignore_errors=True)
trunk, node = os.path.join(work, "trunk"), os.path.join(work, "node-0")
os.makedirs(trunk)
os.makedirs(node)
index = json.load(open(os.path.join(ckpt, "model.safetensors.index.json")))
for shard in sorted(set(index["weight_map"].values())):
    shutil.copy(os.path.join(ckpt, shard), trunk)
for f in os.listdir(ckpt):
    if f.endswith(".json") and f != "model.safetensors.index.json":
        shutil.copy(os.path.join(ckpt, f), node)
index["weight_map"] = {k: "../trunk/" + v for k, v in index["weight_map"].items()}
json.dump(index, open(os.path.join(node, "model.safetensors.index.json"), "w"), indent=2)

ids = torch.arange(1, 33).unsqueeze(0)
ref = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32).eval()
with torch.no_grad():
    want = ref(input_ids=ids).logits
out = {"transformers": transformers.__version__, "loads": False, "error": None, "max_abs_diff": None}
try:
    got_model, info = AutoModelForCausalLM.from_pretrained(node, dtype=torch.float32,
                                                           output_loading_info=True)
    with torch.no_grad():
        got = got_model.eval()(input_ids=ids).logits
    out["loads"] = True
    out["missing_keys"] = sorted(info.get("missing_keys", []))[:5]
    out["max_abs_diff"] = float((got - want).abs().max())
except Exception as e:  # the answer is the point: report it
    out["error"] = f"{type(e).__name__}: {e}"[:2000]
print(json.dumps(out))
