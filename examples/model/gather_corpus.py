#!/usr/bin/env python3
"""Collects the training text of the example MoE (examples/model/) from permissively licensed
files that Debian 12 installs: the sources of examples/calibration/make_suite.py plus more files
of the same packages and licences, labelled by domain. The text of every prompt in
examples/calibration/eval.jsonl is cut out, and any remaining chunk that shares a line of 30 or
more characters with an eval prompt is dropped, so the eval suite stays held out.

Output (gitignored, /build*/ in .gitignore):
  OUT_DIR/corpus.jsonl   one record per chunk of about 2,000 characters:
                         {"domain", "source", "doc", "split": "train"|"heldout", "text"}
                         consecutive chunks with the same "doc" are contiguous text.
  OUT_DIR/stats.json     characters and chunks per domain and split, eval-exclusion counts.

Deterministic: files are read in sorted order (the extra Python and Perl files in a fixed
shuffle with seed 0, then capped per domain); every K-th chunk of a domain goes to "heldout".

Usage: python3 gather_corpus.py [OUT_DIR]   (default: REPO/build-corpus-text)
"""
import ast
import glob
import hashlib
import importlib.util
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CALIB = os.path.join(REPO, "examples", "calibration")
CHUNK = 2000
MIN_LINE = 30          # eval lines at least this long (stripped) poison a chunk that holds them
WINDOW = 120           # so does any line-aligned window of this many characters of an eval prompt

# Per-domain caps in characters (the big sources are sampled down to keep domains comparable).
CAP = {
    "code-python": 2_600_000,
    "code-c": 1_300_000,
    "code-cpp": 1_000_000,
    "docs-technical": 1_300_000,
    "prose-english": 2_600_000,
}


def load_make_suite():
    spec = importlib.util.spec_from_file_location("make_suite", os.path.join(CALIB, "make_suite.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MS = load_make_suite()


def base_text(domain):
    """The exact text make_suite.py cuts its prompts from (its chunker replaced by identity)."""
    real = MS.chunks
    MS.chunks = lambda text, size=MS.CHUNK: [text]
    try:
        return MS.DOMAINS[domain]()[0]
    finally:
        MS.chunks = real


def read(path):
    with open(path, encoding="utf-8", errors="strict") as f:
        return f.read()


def readable(path):
    try:
        return read(path)
    except (UnicodeDecodeError, OSError):
        return None


# ---------------------------------------------------------------- extra sources, same licences

PY_BASE = {"argparse.py", "dataclasses.py", "heapq.py", "textwrap.py", "functools.py",
           "bisect.py", "shlex.py", "statistics.py"}
PY_SKIP_DIRS = ("test", "tests", "idle_test", "site-packages", "dist-packages", "pydoc_data",
                "encodings", "__phello__", "config-3.11-x86_64-linux-gnu", "ensurepip",
                "lib2to3/tests", "__pycache__")


def python_extra():
    """More CPython 3.11 standard-library modules (libpython3.11-stdlib, PSF-2.0)."""
    root = "/usr/lib/python3.11"
    files = []
    for path in sorted(glob.glob(root + "/**/*.py", recursive=True)):
        rel = os.path.relpath(path, root)
        if rel in PY_BASE or any(rel.startswith(d + "/") or ("/" + d + "/") in rel for d in PY_SKIP_DIRS):
            continue
        files.append(path)
    random.Random(0).shuffle(files)
    return [("python3.11/" + os.path.relpath(p, root), t) for p in files if (t := readable(p))]


def c_extra():
    """zconf.h, zstd_errors.h (Zlib, BSD-3-Clause), sqlite3.h/sqlite3ext.h with the interface
    comments removed (public domain), CPython's C headers (libpython3.11-dev, PSF-2.0)."""
    out = []
    for p in ["/usr/include/zconf.h", "/usr/include/zstd_errors.h", "/usr/include/sqlite3ext.h"]:
        out.append((p, read(p)))
    code = re.sub(r"/\*.*?\*/\n?", "", read("/usr/include/sqlite3.h"), flags=re.S)
    out.append(("/usr/include/sqlite3.h (code, comments removed)", code))
    hdrs = sorted(glob.glob("/usr/include/python3.11/**/*.h", recursive=True))
    random.Random(0).shuffle(hdrs)
    out += [(p, t) for p in hdrs if (t := readable(p))]
    return out


def cpp_extra():
    """The rest of nlohmann/json 3.11.2 (MIT), without thirdparty/hedley."""
    base = set(glob.glob("/usr/include/nlohmann/detail/input/*.hpp") +
               glob.glob("/usr/include/nlohmann/detail/output/*.hpp"))
    files = [p for p in sorted(glob.glob("/usr/include/nlohmann/**/*.hpp", recursive=True))
             if p not in base and "/thirdparty/" not in p]
    return [(p, read(p)) for p in files]


def docs_extra():
    """The rest of sqlite3.h's interface documentation (the "/*\n** ..." comments that
    make_suite.py's "/**" pattern misses; public domain) and Python's reference documentation
    topics (pydoc_data/topics.py, PSF-2.0)."""
    text = read("/usr/include/sqlite3.h")
    comments = [c for c in re.findall(r"/\*(.*?)\*/", text, re.S) if not c.startswith("*")]
    prose = "\n".join(re.sub(r"^\s*\*\*? ?", "", c, flags=re.M) for c in comments if len(c) > 400)
    out = [("/usr/include/sqlite3.h (comments)", prose)]
    src = read("/usr/lib/python3.11/pydoc_data/topics.py")
    tree = ast.parse(src)
    topics = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "topics":
            topics = ast.literal_eval(node.value)
    return out + [("python3.11/pydoc_data/topics.py:" + k, topics[k]) for k in sorted(topics)]


def pod_prose(text, min_para=200):
    """POD to prose as make_suite.english_prose does for perldiag (there min_para is 200)."""
    text = re.sub(r"^=\w+.*$", "", text, flags=re.M)
    text = re.sub(r"[A-Z]<([^<>]*)>", r"\1", text)
    paras = [p.strip() for p in text.split("\n\n") if len(p.strip()) > min_para and not p.startswith(" ")]
    return "\n\n".join(paras)


def prose_extra():
    """POD documentation of the Perl 5.36 core library (perl-modules-5.36; Perl's licence,
    Artistic-1.0 option): .pod files and the POD sections of .pm files."""
    root = "/usr/share/perl/5.36.0"
    files = [p for p in sorted(glob.glob(root + "/**/*.pod", recursive=True) +
                               glob.glob(root + "/**/*.pm", recursive=True))
             if not p.endswith("pod/perldiag.pod")]
    random.Random(0).shuffle(files)
    out = []
    for p in files:
        t = readable(p)
        if t is None:
            continue
        if p.endswith(".pm"):  # keep only the POD blocks
            t = "\n".join(re.findall(r"^=(?:pod|head\d|over|item|encoding|begin|for)\b.*?(?:^=cut\b|\Z)",
                                     t, flags=re.M | re.S))
        prose = pod_prose(t, min_para=100)
        if len(prose) > 500:
            out.append(("perl/5.36/" + os.path.relpath(p, root), prose))
    return out


def numbers_extra():
    """tzdata 2025b tables (public domain): zone.tab, iso3166.tab, leapseconds, tzdata.zi."""
    out = []
    for name in ["zone.tab", "iso3166.tab", "leapseconds", "tzdata.zi"]:
        p = "/usr/share/zoneinfo/" + name
        t = "\n".join(l for l in read(p).splitlines() if l and not l.startswith("#"))
        out.append((p, t))
    return out


def xz_messages(lang):
    import gettext
    with open(f"/usr/share/locale/{lang}/LC_MESSAGES/xz.mo", "rb") as f:
        cat = gettext.GNUTranslations(f)
    msgs = []
    for k, v in sorted(cat._catalog.items(), key=lambda kv: str(kv[0])):
        if k and v and (isinstance(k, str) or isinstance(k, tuple)):
            msgs.append(v)
    return "\n".join(msgs)


def man_page(lang):
    """xz(1) translated by po4a; the file says it is in the public domain. Roff markup removed."""
    import gzip
    text = gzip.open(f"/usr/share/man/{lang}/man1/xz.1.gz", "rt", encoding="utf-8").read()
    if "public domain" not in text[:600]:
        raise SystemExit(f"xz.1 ({lang}): no public-domain notice")
    out = []
    for line in text.splitlines():
        if line.startswith(".\\\"") or line.startswith("'\\\""):
            continue
        if line.startswith("."):
            m = re.match(r"\.(SH|SS|IP|TP|B|I|BR|IR|RB|RI)\s+(.*)", line)
            if not m:
                continue
            line = m.group(2).strip('"')
        line = re.sub(r"\\f[BIRPC]|\\&|\\\(..|\\\*\(..", "", line)
        line = line.replace("\\-", "-").replace("\\e", "\\").replace("\\ ", " ").replace("\\", "")
        if line.strip():
            out.append(line)
    return "\n".join(out)


# domain -> (make_suite domain or None, label of the base source, extra-source function)
DOMAINS = {
    "code-python": ("code-python", "python3.11/{argparse,...}.py", python_extra),
    "code-c": ("code-c", "/usr/include/{zlib,zstd}.h", c_extra),
    "code-cpp": ("code-cpp", "nlohmann/detail/{input,output}/*.hpp", cpp_extra),
    "docs-technical": ("docs-technical", "/usr/include/sqlite3.h (comments)", docs_extra),
    "prose-english": ("prose-english", "perl/5.36/pod/perldiag.pod", prose_extra),
    "numbers": ("numbers", "zoneinfo/{leap-seconds.list,zone1970.tab}", numbers_extra),
    "lang-german": ("lang-german", "locale/de/xz.mo", lambda: [("man/de/xz.1", man_page("de"))]),
    "lang-french": ("lang-french", "locale/fr/xz.mo", lambda: [("man/fr/xz.1", man_page("fr"))]),
    # Other Romance-language xz translations (public domain), pooled: each alone is tiny.
    "lang-romance": (None, None, lambda: [(f"locale/{l}/xz.mo", xz_messages(l))
                                          for l in ("es", "it", "pt", "pt_BR", "ro")] +
                     [(f"man/{l}/xz.1", man_page(l)) for l in ("pt_BR", "ro")]),
}


def cut_chunks(text, size=CHUNK):
    out, cur = [], ""
    for line in text.splitlines(keepends=True):
        if len(cur) + len(line) > size and cur.strip():
            out.append(cur)
            cur = ""
        cur += line
    if cur.strip():
        out.append(cur)
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build-corpus-text")
    os.makedirs(out_dir, exist_ok=True)
    evals = [json.loads(l) for l in open(os.path.join(CALIB, "eval.jsonl"), encoding="utf-8")]
    eval_lines = {l.strip() for e in evals for l in e["text"].splitlines() if len(l.strip()) >= MIN_LINE}
    eval_windows = set()
    for e in evals:
        lines = e["text"].splitlines(keepends=True)
        for i in range(len(lines)):
            w = "".join(lines[i:])[:WINDOW]
            if len(w) == WINDOW and len(w.strip()) >= WINDOW * 2 // 3:
                eval_windows.add(w)

    def poisoned(c):
        return (any(l.strip() in eval_lines for l in c.splitlines() if len(l.strip()) >= MIN_LINE)
                or any(w in c for w in eval_windows))

    records, stats = [], {"domains": {}, "eval_prompts": len(evals), "min_poison_line": MIN_LINE}
    doc_id = 0
    for domain, (ms_domain, base_label, extra) in DOMAINS.items():
        docs = []  # (source, text)
        cut_out = not_found = 0
        if ms_domain:
            text = base_text(ms_domain)
            pieces = [text]
            for e in (e for e in evals if e["domain"] == ms_domain):
                new, hit = [], False
                for p in pieces:
                    i = p.find(e["text"])
                    if i >= 0 and not hit:
                        hit = True
                        new += [p[:i], p[i + len(e["text"]):]]
                    else:
                        new.append(p)
                pieces = new
                cut_out += hit
                not_found += not hit
            docs += [(base_label, p) for p in pieces if p.strip()]
        if extra:
            docs += extra()
        # chunk, poison filter, cap
        chunks, dropped, total = [], 0, 0
        cap = CAP.get(domain, 1 << 62)
        for source, text in docs:
            if total >= cap:
                break
            doc_id += 1
            for c in cut_chunks(text):
                if poisoned(c):
                    dropped += 1
                    doc_id += 1  # the text is no longer contiguous across the dropped chunk
                    continue
                chunks.append((source, doc_id, c))
                total += len(c)
        k = 20 if len(chunks) >= 200 else 8
        n = {"train": [0, 0], "heldout": [0, 0]}
        for i, (source, d, c) in enumerate(chunks):
            split = "heldout" if i % k == k // 2 else "train"
            n[split][0] += 1
            n[split][1] += len(c)
            records.append({"domain": domain, "source": source, "doc": d, "split": split, "text": c})
        stats["domains"][domain] = {
            "sources": len({s for s, _, _ in chunks}),
            "train_chunks": n["train"][0], "train_chars": n["train"][1],
            "heldout_chunks": n["heldout"][0], "heldout_chars": n["heldout"][1],
            "eval_prompts_cut_out": cut_out, "eval_prompts_not_found_in_base": not_found,
            "chunks_dropped_for_eval_overlap": dropped,
        }
        print(f"{domain:15s} train {n['train'][1]:>9,} chars / {n['train'][0]:5d} chunks   heldout "
              f"{n['heldout'][1]:>8,} / {n['heldout'][0]:4d}   eval cut {cut_out} (missed {not_found}), "
              f"dropped {dropped}")

    # Final check: no line-aligned 240-character window of any eval prompt occurs in the corpus
    # (shorter windows do: repeated boilerplate such as runs of `case '0':` lines), and the
    # share of its 80-character windows that occur somewhere is recorded per prompt.
    joined = "\x00".join(r["text"] for r in records)
    leaks, shares = 0, {}
    for e in evals:
        lines = e["text"].splitlines(keepends=True)
        wins = ["".join(lines[i:])[:80] for i in range(len(lines))]
        wins = [w for w in wins if len(w) == 80 and len(w.strip()) >= 60]
        shares[e["id"]] = round(sum(w in joined for w in wins) / max(1, len(wins)), 3)
        if any(len(w) == 240 and w in joined for w in
               ("".join(lines[i:])[:240] for i in range(len(lines)))):
            leaks += 1
    stats["eval_prompts_with_240char_window_in_corpus"] = leaks
    stats["eval_80char_window_share_max"] = max(shares.values())
    stats["eval_80char_window_share_by_prompt"] = shares
    stats["total_chars"] = sum(len(r["text"]) for r in records)
    with open(os.path.join(out_dir, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    data = open(os.path.join(out_dir, "corpus.jsonl"), "rb").read()
    stats["corpus_sha256"] = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out_dir, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)
    print(f"total {stats['total_chars']:,} chars; eval prompts with a 240-char window in the corpus: {leaks}; "
          f"max share of a prompt's 80-char windows found: {stats['eval_80char_window_share_max']}")
    if leaks:
        sys.exit("eval text leaked into the corpus")


if __name__ == "__main__":
    main()
