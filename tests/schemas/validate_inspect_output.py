#!/usr/bin/env python3
"""Validates `moedist inspect --json` on every hf-tiny fixture against schemas/inspect.schema.json
with python-jsonschema (an independent validator), and checks its arithmetic against the
fixture's own config.json and safetensors headers, read here without moedist."""
import json
import os
import struct
import subprocess
import sys

import jsonschema

exe, source_dir, fixture_root = sys.argv[1:4]
schema = json.load(open(os.path.join(source_dir, "schemas", "inspect.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
root = os.path.join(fixture_root, "fixtures", "hf-tiny")
failures = 0
checked = 0
for family in sorted(os.listdir(root)):
    d = os.path.join(root, family)
    if not os.path.isdir(d):
        continue
    out = subprocess.run([exe, "inspect", d, "--json", "--groups", "2"], capture_output=True,
                         check=True, text=True).stdout
    doc = json.loads(out)
    errors = list(validator.iter_errors(doc))
    for e in errors:
        print(f"FAIL {family}: {e.message} at {list(e.path)}")
    failures += len(errors)
    config = json.load(open(os.path.join(d, "config.json")))
    index = json.load(open(os.path.join(d, "model.safetensors.index.json")))
    total = 0
    for shard in sorted(set(index["weight_map"].values())):
        with open(os.path.join(d, shard), "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        total += sum(v["data_offsets"][1] - v["data_offsets"][0]
                     for k, v in header.items() if k != "__metadata__")
    experts = (config.get("num_experts") or config.get("num_local_experts")
               or config.get("n_routed_experts"))
    checks = [
        ("tensor_count", doc["tensor_count"], len(index["weight_map"])),
        ("bytes.total", doc["bytes"]["total"], total),
        ("trunk+routed", doc["bytes"]["trunk"] + doc["bytes"]["routed_experts"], total),
        ("num_layers", doc["num_layers"], config["num_hidden_layers"]),
        ("num_experts", doc["num_experts"], experts),
        ("top_k", doc["top_k"], config["num_experts_per_tok"]),
        ("unclassified", doc["unclassified"], []),
    ]
    for name, got, want in checks:
        if got != want:
            print(f"FAIL {family}: {name} = {got}, expected {want}")
            failures += 1
    checked += 1
print(f"{checked} fixtures checked")
print(f"{checked * 8 - failures} passed, {failures} failed")
sys.exit(1 if failures or checked < 6 else 0)
