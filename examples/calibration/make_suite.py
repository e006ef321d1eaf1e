#!/usr/bin/env python3
"""Builds examples/calibration/{calibration,eval}.jsonl from permissively licensed files that
Debian 12 installs, so the suites are real text of several domains. Run on a Debian 12 machine
with the packages named in SOURCES.md; the committed .jsonl files are its output. Deterministic:
files are read in sorted order and cut into fixed-size chunks; every third chunk of a source goes
to the eval suite, the rest to calibration, so the two are disjoint.

Usage: python3 make_suite.py [OUT_DIR]
"""
import gettext
import glob
import json
import os
import re
import sys

CHUNK = 900          # characters per prompt (about 200-300 tokens)
PER_DOMAIN = 24      # prompts per domain before the calibration/eval split


def chunks(text, size=CHUNK):
    """Cuts text at line boundaries into pieces of about `size` characters."""
    out, cur = [], ""
    for line in text.splitlines(keepends=True):
        if len(cur) + len(line) > size and cur.strip():
            out.append(cur)
            cur = ""
        cur += line[: size * 2]
    if cur.strip():
        out.append(cur)
    return [c for c in out if len(c.strip()) > size // 4]


def read(path):
    with open(path, encoding="utf-8", errors="strict") as f:
        return f.read()


def python_code():
    files = ["argparse.py", "dataclasses.py", "heapq.py", "textwrap.py", "functools.py",
             "bisect.py", "shlex.py", "statistics.py"]
    text = "".join(read(os.path.join("/usr/lib/python3.11", f)) for f in files)
    return chunks(text)


def c_code():
    return chunks(read("/usr/include/zlib.h") + read("/usr/include/zstd.h"))


def cpp_code():
    files = sorted(glob.glob("/usr/include/nlohmann/detail/input/*.hpp") +
                   glob.glob("/usr/include/nlohmann/detail/output/*.hpp"))
    return chunks("".join(read(f) for f in files))


def technical_docs():
    # sqlite3.h's interface documentation comments (public domain).
    text = read("/usr/include/sqlite3.h")
    comments = re.findall(r"/\*\*(.*?)\*/", text, re.S)
    prose = "\n".join(re.sub(r"^\s*\*? ?", "", c, flags=re.M) for c in comments if len(c) > 400)
    return chunks(prose)


def english_prose():
    # perldiag's explanations, with POD markup removed (Perl: Artistic License 1.0 option).
    text = read("/usr/share/perl/5.36/pod/perldiag.pod")
    text = re.sub(r"^=\w+.*$", "", text, flags=re.M)
    text = re.sub(r"[A-Z]<([^<>]*)>", r"\1", text)
    paras = [p.strip() for p in text.split("\n\n") if len(p.strip()) > 200 and not p.startswith(" ")]
    return chunks("\n\n".join(paras))


def numbers():
    text = read("/usr/share/zoneinfo/leap-seconds.list")
    data = "\n".join(l for l in text.splitlines() if l and not l.startswith("#"))
    tab = "\n".join(l for l in read("/usr/share/zoneinfo/zone1970.tab").splitlines() if not l.startswith("#"))
    return chunks(data + "\n" + tab)


def translations(lang):
    # xz's message catalogue (the translations are in the public domain).
    mo = f"/usr/share/locale/{lang}/LC_MESSAGES/xz.mo"
    with open(mo, "rb") as f:
        catalog = gettext.GNUTranslations(f)
    msgs = [v for k, v in sorted((k, v) for k, v in catalog._catalog.items() if isinstance(k, str)) if k and v]
    return chunks("\n".join(msgs))


DOMAINS = {
    "code-python": python_code,
    "code-c": c_code,
    "code-cpp": cpp_code,
    "docs-technical": technical_docs,
    "prose-english": english_prose,
    "numbers": numbers,
    "lang-german": lambda: translations("de"),
    "lang-french": lambda: translations("fr"),
}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    calib, evals = [], []
    for domain, source in DOMAINS.items():
        pieces = source()
        step = max(1, len(pieces) // PER_DOMAIN)
        picked = pieces[::step][:PER_DOMAIN]
        for i, text in enumerate(picked):
            rec = {"id": f"{domain}-{i:02d}", "domain": domain, "text": text}
            (evals if i % 3 == 2 else calib).append(rec)
    for name, recs in (("calibration.jsonl", calib), ("eval.jsonl", evals)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"{name}: {len(recs)} prompts")


if __name__ == "__main__":
    main()
