#!/usr/bin/env python3
"""Runs `moedist profile` + `moedist plan` on an hf-tiny fixture with a pre-tokenized suite and
validates profile.json and plan.json against schemas/{profile,plan}.schema.json with python-jsonschema; also checks the
plan's partition invariants independently of moedist's own checks."""
import json
import os
import random
import subprocess
import sys
import tempfile

import jsonschema

exe, source_dir, fixture_root = sys.argv[1:4]
schema = json.load(open(os.path.join(source_dir, "schemas", "plan.schema.json")))
validator = jsonschema.Draft202012Validator(schema)
ckpt = os.path.join(fixture_root, "fixtures", "hf-tiny", "olmoe")
passed = failed = 0
with tempfile.TemporaryDirectory() as tmp:
    rng = random.Random(7)
    with open(os.path.join(tmp, "suite.jsonl"), "w") as f:
        for d in range(4):
            for i in range(6):
                ids = [d * 60 + rng.randrange(60) for _ in range(20)]
                f.write(json.dumps({"id": f"d{d}-{i}", "domain": f"dom{d}", "ids": ids}) + "\n")
    prof = os.path.join(tmp, "profile.json")
    subprocess.run([exe, "profile", ckpt, "--suite", os.path.join(tmp, "suite.jsonl"),
                    "--layers", "all", "-o", prof], check=True, capture_output=True)
    profile_schema = json.load(open(os.path.join(source_dir, "schemas", "profile.schema.json")))
    profile_errors = list(jsonschema.Draft202012Validator(profile_schema).iter_errors(json.load(open(prof))))
    for e in profile_errors:
        print(f"FAIL profile.json: {e.message} at {list(e.path)}")
    failed += bool(profile_errors)
    passed += not profile_errors
    for strategy in ["contiguous", "modulo", "snake", "placement"]:
        plan_path = os.path.join(tmp, f"plan-{strategy}.json")
        subprocess.run([exe, "plan", prof, "--groups", "2", "--overlay", "1", "--strategy",
                        strategy, "--min-experts", "8", "-o", plan_path], check=True,
                       capture_output=True)
        plan = json.load(open(plan_path))
        errors = [e.message for e in validator.iter_errors(plan)]
        for layer, lp in plan["layers"].items():
            seen = sorted(e for g in lp["groups"] for e in g) + lp["overlay"]
            if sorted(seen) != list(range(plan["num_experts"])):
                errors.append(f"layer {layer}: experts not covered exactly once")
            sizes = [len(g) for g in lp["groups"]]
            if max(sizes) - min(sizes) > 1:
                errors.append(f"layer {layer}: unequal groups {sizes}")
        for e in errors:
            print(f"FAIL {strategy}: {e}")
        failed += bool(errors)
        passed += not errors
    # Budget mode: plan.json with "budget" and "recipe", at a budget that fits everything (the
    # unquantized whole model, Δ 0) and at one that forces quantization.
    for label, node_bytes in [("roomy", "1G"), ("tight", None)]:
        plan_path = os.path.join(tmp, f"plan-budget-{label}.json")
        if node_bytes is None:
            roomy = json.load(open(os.path.join(tmp, "plan-budget-roomy.json")))
            keep = [c for c in roomy["budget"]["candidates"] if c["id"] == "whole t=keep e=keep"]
            node_bytes = str(keep[0]["predicted"]["bytes"] * 2 // 3)
        subprocess.run([exe, "plan", prof, "--nodes", "2", "--node-bytes", node_bytes,
                        "--checkpoint", ckpt, "--suite", os.path.join(tmp, "suite.jsonl"),
                        "--measure", "2", "--measure-prompts", "4", "--measure-tokens", "8",
                        "-o", plan_path], check=True, capture_output=True)
        plan = json.load(open(plan_path))
        errors = [e.message for e in validator.iter_errors(plan)]
        b = plan["budget"]
        chosen = [c for c in b["candidates"] if c["id"] == b["chosen"]]
        if len(chosen) != 1 or not chosen[0]["measured"]:
            errors.append("the chosen candidate is not one measured candidate")
        elif chosen[0]["measured"]["bytes"] > b["node_bytes"]:
            errors.append("the chosen candidate's files exceed the budget")
        if label == "roomy" and (b["chosen"] != "whole t=keep e=keep" or
                                 chosen[0]["measured"]["worst_node"] != 0):
            errors.append(f"roomy budget chose {b['chosen']}, expected the lossless whole model")
        if label == "tight" and b["chosen"] == "whole t=keep e=keep":
            errors.append("tight budget chose the unquantized model, which does not fit")
        for e in errors:
            print(f"FAIL budget {label}: {e}")
        failed += bool(errors)
        passed += not errors
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
