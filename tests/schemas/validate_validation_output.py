#!/usr/bin/env python3
"""moedist validate, run as a user would on the example model, checked by an independent validator.

profile -> plan (placement, 2 groups, overlay 2) -> pack -> validate --json --report-dir: the
stdout JSON and report-dir/validation.json must follow schemas/validation.schema.json (python
jsonschema), be equal, the HTML must be self-contained, distribution.json must still follow
schemas/distribution.schema.json with the validation section filled, and the run must exit 0.
Then an impossibly strict threshold must exit 1 naming every failing node on stderr.

usage: validate_validation_output.py MOEDIST_EXE SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema


def run(args, expect):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != expect:
        sys.exit(f"{' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stdout}\n{p.stderr}")
    return p


def main():
    exe, src = sys.argv[1], sys.argv[2]
    ckpt = os.path.join(src, "examples/model/checkpoint")
    calib = os.path.join(src, "examples/calibration/calibration.jsonl")
    evals = os.path.join(src, "examples/calibration/eval.jsonl")
    with open(os.path.join(src, "schemas/validation.schema.json")) as f:
        schema = json.load(f)
    with open(os.path.join(src, "schemas/distribution.schema.json")) as f:
        dist_schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    with tempfile.TemporaryDirectory(prefix="moedist-validate-schema-") as tmp:
        profile, plan = os.path.join(tmp, "profile.json"), os.path.join(tmp, "plan.json")
        dist, report = os.path.join(tmp, "dist"), os.path.join(tmp, "report")
        run([exe, "profile", ckpt, "--suite", calib, "-o", profile, "--layers", "all"], 0)
        run([exe, "plan", profile, "--groups", "2", "--overlay", "2", "-o", plan], 0)
        run([exe, "pack", ckpt, plan, "--out", dist], 0)
        # 7-token prompts: below runtime-min's sgemm threshold, where nodes are bit-for-bit
        # equal to the masked full model (docs/commands/validate.md, "Equivalence today").
        small = ["--max-prompt-tokens", "7", "--gen-prompts", "2", "--gen-tokens", "16"]
        loose = ["--max-logprob-drop", "5", "--max-placed-drop", "5", "--min-distinct-2", "0",
                 "--max-distinct-2-drop", "1"]
        p = run([exe, "validate", dist, "--eval", evals, "--checkpoint", ckpt, "--unsigned",
                 "--json", "--report-dir", report, "--profile", profile] + small + loose, 0)
        out = json.loads(p.stdout)
        jsonschema.validate(out, schema)
        with open(os.path.join(report, "validation.json")) as f:
            written = json.load(f)
        jsonschema.validate(written, schema)
        assert written == out, "validation.json differs from --json output"
        assert out["passed"] and len(out["nodes"]) == 2, out["failed_nodes"]
        assert all(n["equivalence"] == "passed" for n in out["nodes"])
        sessions = out["sessions"]
        assert sessions is not None and len(sessions["node_delta"]) == 2, sessions
        assert sessions["placed"] <= sessions["oracle"] + 1e-12, sessions
        with open(os.path.join(report, "validation.html")) as f:
            html = f.read()
        assert "<svg" in html and "<script" not in html and "http" not in html.split("<body>")[1]
        assert "<h2>Sessions</h2>" in html
        with open(os.path.join(dist, "distribution.json")) as f:
            manifest = json.load(f)
        jsonschema.validate(manifest, dist_schema)
        assert manifest["validation"]["passed"] is True
        assert sorted(manifest["validation"]["nodes"]) == ["node-0", "node-1"]

        p = run([exe, "validate", dist, "--eval", evals, "--checkpoint", ckpt, "--unsigned",
                 "--no-manifest", "--max-logprob-drop", "0", "--min-distinct-2", "1"] + small, 1)
        for node in ("node-0", "node-1"):
            assert node in p.stderr, p.stderr
        assert "FAILED" in p.stdout
        # Usage errors exit 2: no signature choice.
        run([exe, "validate", dist, "--eval", evals, "--checkpoint", ckpt], 2)
    print("validation report: schema ok, exit codes ok")


if __name__ == "__main__":
    main()
