#!/usr/bin/env python3
"""Cross-checks schemas/distribution.schema.json between two independent validators:
python-jsonschema (Draft 2020-12) and moedist's own compiled-in validator, reached through
`moedist verify DIST --unsigned`, on a real release directory.

1. Hand-written samples: valid ones (both accept, verify exits 0) and invalid ones (python
   refuses and verify exits 3), plus the rules moedist adds on top of the schema (python
   accepts, verify exits 3 with the expected reason).
2. Seeded random mutations of a valid manifest: whenever python refuses, verify must exit 3;
   whenever python accepts, verify must not exit 3 unless its message is one of the documented
   extra rules.
Usage: validate_distribution.py MOEDIST_EXE SOURCE_DIR [FIXTURE_ROOT]"""
import copy
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import jsonschema

exe, source_dir = sys.argv[1:3]
schema = json.load(open(os.path.join(source_dir, "schemas", "distribution.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

# Messages of the rules moedist enforces beyond the schema (docs/formats/distribution.md).
EXTRA_RULES = ["must be written as", "is not after", "more than one group",
               "differ only in letter case", "appears twice", "no such date", "component of",
               "schema_version"]

work = tempfile.mkdtemp(prefix="moedist-distribution-schema-")
dist = os.path.join(work, "dist")
BUNDLES = {
    "trunk": {"model.safetensors": b"t" * 3000, "tok/tokenizer.json": b"{}\n",
              "d\u00e9j\u00e0.bin".encode(): b"utf-8 name"},
    "group-0": {"experts.safetensors": b"0" * 1000},
    "group-1": {"experts.safetensors": b"1" * 1000},
}
files_json = {}
for bundle, files in BUNDLES.items():
    entries = []
    for path, data in files.items():
        path = path.decode() if isinstance(path, bytes) else path
        full = os.path.join(dist, bundle, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        open(full, "wb").write(data)
        entries.append({"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    files_json[bundle] = {"files": sorted(entries, key=lambda e: e["path"])}

VALID = {
    "schema_version": 1,
    "release": {"name": "xcheck", "version": 7, "created": "2025-01-01T00:00:00Z",
                "expires": "2030-01-01T00:00:00Z"},
    "source": {"family": "qwen3_moe", "files": [
        {"path": "model-00001-of-00002.safetensors", "size": 10, "sha256": "a" * 64}],
        "facts": {"repo": "Qwen/Qwen3-30B-A3B", "revision": "main"}},
    "routing": {"scoring": "softmax", "top_k": 8},
    "calibration": {"suite": "calib.jsonl", "sha256": "b" * 64},
    "partition": {"layers": {"0": {"groups": [[0, 1], [2, 3]], "overlay": [4]},
                             "12": {"groups": [[0], [1, 2]]}}, "method": "mass"},
    "overlay": {"budget_bytes": 1000},
    "recipe": {"experts": "q4_k", "trunk": "q8_0"},
    "validation": {},
    "bundles": files_json,
    "nodes": [{"id": "node-0", "bundles": ["trunk", "group-0"], "facts": {"group": 0}},
              {"id": "node-1", "bundles": ["trunk", "group-1"]}],
}


def python_valid(doc):
    return not list(validator.iter_errors(doc))


def run_verify(doc_bytes):
    open(os.path.join(dist, "distribution.json"), "wb").write(doc_bytes)
    p = subprocess.run([exe, "verify", dist, "--unsigned", "--now", "2026-01-01T00:00:00Z",
                        "--json", "-j", "1"], capture_output=True)
    try:
        report = json.loads(p.stdout.decode("utf-8", "replace"))
        message = " | ".join(pr["message"] for pr in report["problems"])
    except ValueError:
        message = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    return p.returncode, message


def dump(doc):
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def setp(path, value):
    def f(d):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value
    return f


def delp(path):
    def f(d):
        *head, last = path
        for k in head:
            d = d[k]
        del d[last]
    return f


F0 = ["bundles", "trunk", "files", 0]
# name, mutation, python verdict, moedist exit code
CASES = [
    ("valid", lambda d: None, True, 0),
    ("empty opaque sections", lambda d: d.update(routing={}, recipe={}), True, 0),
    ("non-ASCII path", lambda d: None, True, 0),
    ("layer without overlay", setp(["partition", "layers", "3"], {"groups": []}), True, 0),
    ("extra top-level field", setp(["extra"], 1), False, 3),
    ("missing nodes", delp(["nodes"]), False, 3),
    ("version 0", setp(["release", "version"], 0), False, 3),
    ("version string", setp(["release", "version"], "7"), False, 3),
    ("version 2^53", setp(["release", "version"], 2 ** 53), False, 3),
    ("timestamp with offset", setp(["release", "created"], "2025-01-01T00:00:00+00:00"), False, 3),
    ("timestamp trailing newline", setp(["release", "created"], "2025-01-01T00:00:00Z\n"), False, 3),
    ("month 13", setp(["release", "created"], "2025-13-01T00:00:00Z"), False, 3),
    ("sha256 upper case", setp(F0 + ["sha256"], "A" * 64), False, 3),
    ("sha256 trailing newline", setp(F0 + ["sha256"], "a" * 63 + "\n"), False, 3),
    ("size negative", setp(F0 + ["size"], -1), False, 3),
    ("size string", setp(F0 + ["size"], "3"), False, 3),
    ("path ..", setp(F0 + ["path"], "../x"), False, 3),
    ("path inner ..", setp(F0 + ["path"], "a/../../x"), False, 3),
    ("path .", setp(F0 + ["path"], "./x"), False, 3),
    ("path absolute", setp(F0 + ["path"], "/etc/passwd"), False, 3),
    ("path backslash", setp(F0 + ["path"], "a\\b"), False, 3),
    ("path NUL", setp(F0 + ["path"], "a\u0000b"), False, 3),
    ("path trailing newline", setp(F0 + ["path"], "model.safetensors\n"), False, 3),
    ("path empty component", setp(F0 + ["path"], "a//b"), False, 3),
    ("path trailing slash", setp(F0 + ["path"], "a/"), False, 3),
    ("path too long", setp(F0 + ["path"], "a" * 1025), False, 3),
    ("file extra field", setp(F0 + ["mode"], 420), False, 3),
    ("bundle name with slash", setp(["bundles", "a/b"], {"files": []}), False, 3),
    ("bundle name hidden", setp(["bundles", ".git"], {"files": []}), False, 3),
    ("bundle name trailing newline", setp(["bundles", "x\n"], {"files": []}), False, 3),
    ("node id bad", setp(["nodes", 0, "id"], "node 0"), False, 3),
    ("node bundles empty", setp(["nodes", 0, "bundles"], []), False, 3),
    ("node bundles repeated", setp(["nodes", 0, "bundles"], ["trunk", "trunk"]), False, 3),
    ("layer key not decimal", setp(["partition", "layers", "01"], {"groups": []}), False, 3),
    ("group with repeated expert", setp(["partition", "layers", "0", "groups", 0], [1, 1]), False, 3),
    ("expert negative", setp(["partition", "layers", "0", "overlay"], [-1]), False, 3),
    ("partition without layers", setp(["partition"], {}), False, 3),
    ("schema_version 2", setp(["schema_version"], 2), False, 3),
    ("routing not an object", setp(["routing"], []), False, 3),
    # Rules moedist adds beyond the schema: python accepts, moedist refuses (exit 3).
    ("duplicate path", setp(F0 + ["path"], "tok/tokenizer.json"), True, 3),
    ("case duplicate path", setp(F0 + ["path"], "TOK/tokenizer.json"), True, 3),
    ("size written 3.0", setp(F0 + ["size"], 3.0), True, 3),
    ("version written 7.0", setp(["release", "version"], 7.0), True, 3),
    ("expert in two groups", setp(["partition", "layers", "0", "groups", 1], [1, 3]), True, 3),
    ("expires before created", setp(["release", "expires"], "2024-01-01T00:00:00Z"), True, 3),
    ("February 30", setp(["release", "created"], "2025-02-30T00:00:00Z"), True, 3),
    ("component over 255 bytes", setp(F0 + ["path"], "x" * 256), True, 3),
    ("duplicate node id", lambda d: d["nodes"].append(dict(d["nodes"][0], facts={"x": 1})), True, 3),
    # Schema-valid, file-level failures: verify exits 1, not 3.
    ("wrong digest", setp(F0 + ["sha256"], "c" * 64), True, 1),
    ("node needs unknown bundle", setp(["nodes", 0, "bundles"], ["trunk", "group-9"]), True, 1),
]

failures = 0
checked = 0
for name, mutate, want_python, want_exit in CASES:
    doc = copy.deepcopy(VALID)
    mutate(doc)
    got_python = python_valid(doc)
    code, message = run_verify(dump(doc))
    checked += 1
    if got_python != want_python or code != want_exit:
        failures += 1
        print(f"FAIL {name}: python {'accepts' if got_python else 'refuses'} (want "
              f"{'accept' if want_python else 'refuse'}), moedist exit {code} (want {want_exit}): "
              f"{message[:300]}")
    elif got_python and code == 3 and not any(r in message for r in EXTRA_RULES):
        failures += 1
        print(f"FAIL {name}: moedist refused for an undocumented reason: {message[:300]}")

# Byte-level: the same document with a duplicate key is refused by moedist (python's json
# module would keep the last value; the schema cannot see it).
text = dump(VALID).decode().replace('"schema_version": 1', '"schema_version": 1,\n  "schema_version": 1')
code, message = run_verify(text.encode())
checked += 1
if code != 3 or "duplicate JSON key" not in message:
    failures += 1
    print(f"FAIL duplicate JSON key: exit {code}: {message[:200]}")

# Random mutations: the two validators must agree wherever the schema decides.
rng = random.Random(2025)
VALUES = [None, True, False, 0, 1, -1, 7, 2 ** 53 - 1, 2 ** 53, 2 ** 64, 1.5, 3.0, "", "a", "A",
          "../x", "/x", "a\\b", "a/b", "x\n", "a" * 64, "2025-06-01T00:00:00Z",
          "2025-06-01T00:00:00", "node-3", ".x", [], [1], [[0, 1]], {}, {"files": []},
          {"groups": []}]


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


all_paths = [p for p in paths(VALID) if p]
agree = 0
tally = {"both refuse": 0, "both accept": 0, "moedist extra rule": 0}
for i in range(int(os.environ.get("MOEDIST_SCHEMA_MUTATIONS", "200"))):
    doc = copy.deepcopy(VALID)
    path = list(rng.choice(all_paths))
    op = rng.random()
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if op < 0.15 and isinstance(parent, dict):
        del parent[path[-1]]
    elif op < 0.25 and isinstance(parent, dict):
        parent[rng.choice(["zz", "a/b", "x", "files", "facts", "12"])] = rng.choice(VALUES)
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    got_python = python_valid(doc)
    code, message = run_verify(dump(doc))
    checked += 1
    ok = (code == 3) if not got_python else (code != 3 or any(r in message for r in EXTRA_RULES))
    if not ok:
        failures += 1
        print(f"FAIL mutation {i} at {path}: python {'accepts' if got_python else 'refuses'}, "
              f"moedist exit {code}: {message[:300]}")
    else:
        agree += 1
        tally["both refuse" if not got_python else
              "moedist extra rule" if code == 3 else "both accept"] += 1

shutil.rmtree(work)
print(f"{checked} samples checked ({len(CASES)} hand-written, {agree} random mutations agreeing: "
      + ", ".join(f"{v} {k}" for k, v in tally.items()) + ")")
print(f"{checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
