#!/usr/bin/env python3
"""Checks a moedist binary against the Hugging Face references of the example model, with
nothing but the standard library (the safetensors files are read directly: 8-byte little-endian
header length, JSON header, raw little-endian tensors).

  1. tokenization: `moedist tokenize` of the three reference prompts (from eval.jsonl) must give
     reference.json's input_ids as its first 32 ids;
  2. logits: `moedist eval --ids --logits-out` on those ids against reference.safetensors
     ("logits", float32 compute in transformers), max |diff| must be <= --tol;
  3. routing: `moedist eval --routing-out` must select the same top-k experts per layer.

Usage: python3 examples/model/check_moedist.py [MOEDIST] [--tol 2e-3] [--model DIR]
       (exit 1 on a mismatch; --model examples/model64 checks the 64-expert example)
"""
import argparse
import array
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CK = os.path.join(HERE, "checkpoint")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, m in header.items():
            if name == "__metadata__":
                continue
            f.seek(base + m["data_offsets"][0])
            raw = f.read(m["data_offsets"][1] - m["data_offsets"][0])
            a = array.array({"F32": "f", "I64": "q", "I32": "i"}[m["dtype"]])
            a.frombytes(raw)
            if sys.byteorder != "little":
                a.byteswap()
            out[name] = (m["shape"], a)
    return out


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("moedist", nargs="?", default=os.path.join(REPO, "build", "apps", "moedist"))
    ap.add_argument("--tol", type=float, default=2e-3)
    ap.add_argument("--model", default=HERE,
                    help="example directory holding checkpoint/ and reference.* (default: this one)")
    args = ap.parse_args()
    global CK
    CK = os.path.join(args.model, "checkpoint")
    ref = read_safetensors(os.path.join(args.model, "reference.safetensors"))
    rj = json.load(open(os.path.join(args.model, "reference.json"), encoding="utf-8"))
    evals = {json.loads(l)["id"]: json.loads(l)["text"]
             for l in open(os.path.join(REPO, "examples", "calibration", "eval.jsonl"), encoding="utf-8")}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        texts = os.path.join(tmp, "texts.json")
        json.dump([evals[i] for i in rj["prompt_ids"]], open(texts, "w"))
        ids = json.loads(run([args.moedist, "tokenize", "--tokenizer", os.path.join(CK, "tokenizer.json"),
                              "--texts", texts, "--json"]))
        S = rj["input_shape"][1]
        tok_ok = [x[:S] for x in ids] == rj["input_ids"]
        print(f"tokenize: first {S} ids of the {len(ids)} reference prompts "
              f"{'match' if tok_ok else 'DIFFER from'} reference.json")
        ok &= tok_ok

        ids_path = os.path.join(tmp, "ids.json")
        json.dump(rj["input_ids"], open(ids_path, "w"))
        logits_path = os.path.join(tmp, "logits.safetensors")
        routing_path = os.path.join(tmp, "routing.json")
        run([args.moedist, "eval", CK, "--ids", ids_path, "--logits-out", logits_path,
             "--routing-out", routing_path, "--json"])
        (shape, mine), (rshape, theirs) = read_safetensors(logits_path)["logits"], ref["logits"]
        if shape != rshape:
            sys.exit(f"logits shape {shape} != reference {rshape}")
        diffs = [abs(a - b) for a, b in zip(mine, theirs)]
        worst = max(diffs)
        at = diffs.index(worst)
        V, T = shape[-1], shape[0] * shape[1]
        print(f"logits: max |diff| {worst:.3e} (b={at // (shape[1] * V)}, s={at // V % shape[1]}, "
              f"v={at % V}), mean {sum(diffs) / len(diffs):.3e}, tolerance {args.tol:g}")
        ok &= worst <= args.tol

        routing = json.load(open(routing_path))
        for layer in sorted(routing, key=int):
            (rs, ri) = ref[f"topk_indices.{layer}"]
            k = rs[1]
            want = [sorted(ri[t * k:(t + 1) * k]) for t in range(rs[0])]
            same = sum(sorted(x) == y for x, y in zip(routing[layer], want))
            print(f"routing layer {layer}: {same}/{len(want)} tokens select the reference experts")
            ok &= same == len(want) == T
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
