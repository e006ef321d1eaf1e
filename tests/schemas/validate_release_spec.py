#!/usr/bin/env python3
"""Validates examples/release.json against schemas/release.schema.json with python-jsonschema,
and checks that the schema refuses what moedist's reader (pipeline/release_build_spec.cpp)
refuses."""
import copy
import json
import os
import sys

import jsonschema

source_dir = sys.argv[1]
schema = json.load(open(os.path.join(source_dir, "schemas", "release.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
example = json.load(open(os.path.join(source_dir, "examples", "release.json")))
failed = 0
for e in validator.iter_errors(example):
    print(f"FAIL examples/release.json: {e.message}")
    failed += 1


def patched(path, value, base=None):
    j = copy.deepcopy(example if base is None else base)
    node = j
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return j


# The example plans to a budget; the fixed-split fields are checked on a fixed-split variant.
fixed = copy.deepcopy(example)
fixed["plan"] = {"groups": 2, "overlay": 2, "strategy": "placement"}
for e in validator.iter_errors(fixed):
    print(f"FAIL fixed-split variant: {e.message}")
    failed += 1
budget_refused = [
    (("plan", "nodes"), 0),
    (("plan", "node_bytes"), "lots"),
    (("plan", "node_bytes"), None),  # nodes without node_bytes
    (("plan", "groups"), 2),  # a fixed-split field beside nodes
    (("plan", "measure"), 0),
]
for path, value in budget_refused:
    if not list(validator.iter_errors(patched(path, value))):
        print(f"FAIL the schema accepts {'.'.join(path)} = {value!r} in a budget plan")
        failed += 1
refused = [
    (("extra",), 1),
    (("release", "created"), None),
    (("release", "created"), "yesterday"),
    (("release", "expires"), "2030-01-01T00:00:00Z"),  # with valid_days
    (("plan", "groups"), 0),
    (("plan", "strategy"), "random"),
    (("plan", "strategy"), "custom"),  # without assign
    (("plan", "overlay_bytes"), 100),  # with overlay
    (("profile", "max_tokens_per_prompt"), "8"),
    (("output",), None),
    (("schema_version",), 2),
]
for path, value in refused:
    if not list(validator.iter_errors(patched(path, value, fixed))):
        print(f"FAIL the schema accepts {'.'.join(path)} = {value!r}")
        failed += 1
total = len(refused) + len(budget_refused) + 2
print(f"{total - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
