#!/usr/bin/env python3
"""Does transformers load a moedist node directory (DIST/node-K, whose index points into
../trunk, ../group-K, ../overlay and its own shard) with from_pretrained, and give runtime-min's
logits? For every DIR/<case>.<node>.llama.txt (written by tests/pipeline/gguf_node_samples:
"VOCAB ID..." then runtime-min's last-position logits on the safetensors node) it loads
DIR/<case>/<node> in float32, runs the ids and prints one JSON line:
{"case", "node", "loads", "error", "max_abs_diff", "top_token_same", "transformers"}.
Usage: python3 check_node_from_pretrained.py DIR
"""
import glob, json, os, sys

import torch
import transformers
from transformers import AutoModelForCausalLM

root = sys.argv[1]
ok = True
for want in sorted(glob.glob(os.path.join(root, "*.llama.txt"))):
    name = os.path.basename(want)[:-len(".llama.txt")]
    case, node = name.rsplit(".", 1)
    lines = open(want).read().split("\n")
    header = [int(v) for v in lines[0].split()]
    ids = header[1:]
    ref = torch.tensor([float(v) for v in lines[1:] if v.strip()])
    out = {"case": case, "node": node, "transformers": transformers.__version__, "loads": False,
           "error": None, "max_abs_diff": None, "top_token_same": None}
    try:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(root, case, node),
                                                     dtype=torch.float32).eval()
        with torch.no_grad():
            got = model(input_ids=torch.tensor([ids])).logits[0, -1]
        out["loads"] = True
        out["max_abs_diff"] = float((got - ref).abs().max())
        out["top_token_same"] = int(got.argmax()) == int(ref.argmax())
        ok = ok and out["max_abs_diff"] < 1e-3 and out["top_token_same"]
    except Exception as e:  # the answer is the point: report it
        out["error"] = f"{type(e).__name__}: {e}"[:1500]
        ok = False
    print(json.dumps(out), flush=True)
sys.exit(0 if ok else 1)
