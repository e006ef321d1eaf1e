#!/usr/bin/env python3
"""Validates every line of the shipped calibration and eval suites against
schemas/calibration.schema.json with python-jsonschema."""
import glob
import json
import os
import sys

import jsonschema

source_dir = sys.argv[1]
schema = json.load(open(os.path.join(source_dir, "schemas", "calibration.schema.json")))
validator = jsonschema.Draft202012Validator(schema)
passed = failed = 0
for path in sorted(glob.glob(os.path.join(source_dir, "examples", "calibration", "*.jsonl"))):
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        errors = list(validator.iter_errors(json.loads(line)))
        for e in errors:
            print(f"FAIL {path}:{n}: {e.message}")
        failed += bool(errors)
        passed += not errors
bad = validator.iter_errors({"id": "a", "domain": "d", "text": "x", "ids": [1]})
assert list(bad), "schema must refuse a line with both text and ids"
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
