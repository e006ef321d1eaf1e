#!/usr/bin/env python3
"""Trains moedist's example Mixture-of-Experts model (examples/model/checkpoint) and writes its
references. Needs torch, transformers (Qwen3-MoE), tokenizers and safetensors; one GPU.

  1. Byte-level BPE tokenizer (Qwen2/Qwen3 style: NFC, the Qwen2 regex Split, ByteLevel
     without its own regex, ByteLevel decoder; "<|endoftext|>" special) trained on the train
     split of the corpus that gather_corpus.py writes.
  2. Qwen3MoeForCausalLM (4 layers, hidden 256, 16 experts, top-2) trained with AdamW on
     256-token windows drawn from all domains (bf16 autocast, transformers' load-balancing loss
     on; in transformers 5.17 it has no effect, see README.md).
  3. Saves the bf16 checkpoint in the Hugging Face hub layout (per-expert tensors, shards of at
     most half the bytes + model.safetensors.index.json), tokenizer.json, tokenizer_config.json.
     transformers 5 keeps experts fused in memory; probe_loader_layout() asks the installed
     version how from_pretrained maps hub tensors onto them, and the save inverts that.
  4. Reloads it with AutoModelForCausalLM.from_pretrained and fails unless it equals the trained
     model; records per-domain held-out loss and expert usage (training_report.json); computes
     float32 references for 3 prompts of examples/calibration/eval.jsonl (reference.*).

Presets (--preset): e16 (default) is examples/model/ as described above. e64 is examples/model64/:
vocabulary 1,024, 64 routed experts of width 64, top-4, and its own Switch-style load-balancing
loss computed per layer from the router inputs (hooked) and summed over layers, in place of
transformers' (which has no effect in 5.17, see examples/model/README.md); it also picks the
fastest transformers experts implementation for training and reports per-layer expert balance.

Usage: python3 train.py --corpus build-corpus-text --out DIR [--preset e16|e64] [--train-seconds S] [--smoke]
"""
import argparse
import copy
import inspect
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EOT = "<|endoftext|>"
# The Qwen2/Qwen3 pre-tokenizer pattern (as in their tokenizer.json).
QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
REFERENCE_DOMAINS = ["code-python", "prose-english", "lang-german"]
# balance: "hf" = transformers' router_aux_loss (output_router_logits on; a no-op in 5.17),
#          "switch" = train.py's own Switch loss per layer, summed over layers (coefficient aux_coef).
PRESETS = {
    "e16": dict(vocab=4096, num_experts=16, top_k=2, moe_intermediate_size=128, balance="hf",
                aux_coef=0.005, train_seconds=240, max_steps=3000, experts_impl=None,
                model_dir="examples/model/checkpoint"),
    "e64": dict(vocab=1024, num_experts=64, top_k=4, moe_intermediate_size=64, balance="switch",
                aux_coef=0.01, train_seconds=300, max_steps=4000, experts_impl="auto",
                model_dir="examples/model64/checkpoint"),
}
ARCH = dict(PRESETS["e16"])  # the preset in use (set in main)


def log(*a):
    print(*a, flush=True)


# ------------------------------------------------------------------------------------ corpus

def load_corpus(path, smoke):
    recs = [json.loads(l) for l in open(os.path.join(path, "corpus.jsonl"), encoding="utf-8")]
    docs = {}  # (split, domain) -> list of doc texts (contiguous chunks joined)
    last = {}
    for r in recs:
        key = (r["split"], r["domain"])
        lst = docs.setdefault(key, [])
        if last.get(key) == r["doc"] and lst:
            lst[-1] += r["text"]
        else:
            lst.append(r["text"])
        last[key] = r["doc"]
    if smoke:
        docs = {k: v[:20] for k, v in docs.items()}
    domains = sorted({d for _, d in docs})
    return docs, domains


# --------------------------------------------------------------------------------- tokenizer

def train_tokenizer(texts, vocab_size):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # Spell the ByteLevel options out as Qwen3's tokenizer.json does.
    j = json.loads(tok.to_str())
    for part in [j["pre_tokenizer"]["pretokenizers"][1], j["decoder"]]:
        part.update({"add_prefix_space": False, "trim_offsets": False, "use_regex": False})
    j["post_processor"] = None
    return Tokenizer.from_str(json.dumps(j, ensure_ascii=False))


def encode_docs(tok, docs, eot_id):
    ids = []
    for enc in tok.encode_batch(docs, add_special_tokens=False):
        ids += enc.ids + [eot_id]
    return ids


# ------------------------------------------------------------------------------------- model

def make_config(vocab, eot_id, smoke):
    from transformers import Qwen3MoeConfig
    kw = dict(vocab_size=vocab, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=2, head_dim=64, num_experts=ARCH["num_experts"],
              num_experts_per_tok=ARCH["top_k"], moe_intermediate_size=ARCH["moe_intermediate_size"],
              norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[], tie_word_embeddings=False,
              router_aux_loss_coef=ARCH["aux_coef"], output_router_logits=ARCH["balance"] == "hf",
              max_position_embeddings=2048,
              rms_norm_eps=1e-6, hidden_act="silu", attention_bias=False, attention_dropout=0.0,
              use_sliding_window=False, initializer_range=0.02, bos_token_id=eot_id,
              eos_token_id=eot_id, pad_token_id=eot_id, use_cache=True)
    params = inspect.signature(Qwen3MoeConfig.__init__).parameters
    if "rope_parameters" in params:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": 1000000.0}
    else:
        kw["rope_theta"] = 1000000.0
    return Qwen3MoeConfig(**kw)


def moe_inputs_hooks(model, store, detach=True):
    """Forward pre-hooks on every layer's MoE block: store[layer] = the block's input."""
    hs = []
    for i, layer in enumerate(model.model.layers):
        def hook(m, args, kwargs, i=i):
            h = args[0] if args else kwargs["hidden_states"]
            store[i] = h.detach() if detach else h
        hs.append(layer.mlp.register_forward_pre_hook(hook, with_kwargs=True))
    return hs


def router_weight(model, layer):
    return model.model.layers[layer].mlp.gate.weight


def route(model, layer, h, k):
    """Router logits in float32, softmax, top-k, renormalised (norm_topk_prob=True)."""
    w = router_weight(model, layer).float()
    logits = h.reshape(-1, w.shape[1]).float() @ w.t()
    probs = logits.softmax(-1)
    top_w, top_i = probs.topk(k, dim=-1)
    return logits, probs, top_i, top_w / top_w.sum(-1, keepdim=True)


def switch_loss(model, layer, h, k):
    """Switch-Transformer load-balancing loss of one layer, from the router's input h:
    E * sum_e f_e * P_e, f_e = share of the top-k selections that go to expert e (no gradient),
    P_e = mean router probability of e. 1.0 when perfectly balanced."""
    w = router_weight(model, layer)
    probs = (h.reshape(-1, w.shape[1]).float() @ w.float().t()).softmax(-1)
    E = probs.shape[1]
    sel = probs.detach().topk(k, dim=-1).indices.flatten()
    f = torch.bincount(sel, minlength=E).float() / sel.numel()
    return E * (f * probs.mean(0)).sum()


def set_experts_impl(model, impl):
    """Selects transformers 5's experts implementation (eager, grouped_mm, batched_mm): the
    experts modules read config._experts_implementation at every call."""
    seen = set()
    for m in [model] + list(model.modules()):
        c = getattr(m, "config", None)
        if c is not None and id(c) not in seen:
            seen.add(id(c))
            c._experts_implementation = impl


def pick_experts_impl(model, batch, steps=6):
    """Times forward+backward (bf16 autocast) of each experts implementation on one batch and
    returns (fastest that works and agrees with eager, {impl: ms or error})."""
    res, ref = {}, None
    default = getattr(model.config, "_experts_implementation", None)
    x = batch()
    for impl in ("eager", "grouped_mm", "batched_mm"):
        try:
            set_experts_impl(model, impl)
            for i in range(2 + steps):
                if i == 2:
                    torch.cuda.synchronize()
                    t0 = time.time()
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = model(input_ids=x, labels=x).loss
                loss.backward()
            torch.cuda.synchronize()
            ms = (time.time() - t0) / steps * 1000
            model.zero_grad(set_to_none=True)
            lv = float(loss)
            ref = lv if ref is None else ref
            res[impl] = {"ms_per_step": round(ms, 1), "loss": round(lv, 5), "agrees": abs(lv - ref) < 1e-2}
        except Exception as exc:  # not available in this version / device
            model.zero_grad(set_to_none=True)
            res[impl] = {"error": repr(exc)[:300]}
        log("experts impl", impl, json.dumps(res[impl]))
    ok = [i for i, r in res.items() if r.get("agrees")]
    best = min(ok, key=lambda i: res[i]["ms_per_step"]) if ok else default
    res["default"] = default
    if best is not None:
        set_experts_impl(model, best)
    return best, res


def balance(cnt):
    """Per layer from top-k selection counts [L, E]: busiest expert's share of the selections,
    the least used one's, and the experts under 0.5%."""
    out = []
    for l in range(cnt.shape[0]):
        share = cnt[l] / cnt[l].sum()
        order = torch.argsort(share, descending=True)
        out.append({"layer": l, "max_share": round(float(share.max()), 4),
                    "busiest": [int(e) for e in order[:3]],
                    "min_share": round(float(share.min()), 5),
                    "under_0.5pct": [int(e) for e in range(len(share)) if share[e] < 0.005],
                    "cv": round(float(share.std() / share.mean()), 3)})
    return {"uniform_share": round(1 / cnt.shape[1], 5), "per_layer": out,
            "experts_under_0.5pct": sum(len(x["under_0.5pct"]) for x in out)}


# ---------------------------------------------------------------------------------- evaluate

@torch.no_grad()
def eval_loss(model, seqs, dev, bs=32):
    """Token-weighted mean next-token NLL (nats) over a list of 1-D id tensors of equal length
    (or a list of variable-length ones, run one by one)."""
    model.eval()
    tot, n = 0.0, 0
    groups = [seqs[i:i + bs] for i in range(0, len(seqs), bs)]
    for g in groups:
        if len({len(s) for s in g}) == 1:
            batches = [torch.stack(g)]
        else:
            batches = [s[None] for s in g]
        for x in batches:
            x = x.to(dev)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(input_ids=x).logits
            nll = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]),
                                  x[:, 1:].reshape(-1), reduction="sum")
            tot += nll.item()
            n += x[:, 1:].numel()
    model.train()
    return tot / max(n, 1), n


@torch.no_grad()
def routing_usage(model, seqs, dev, k, bs=32):
    """Per layer: routing mass per expert (sum of the renormalised top-k weights / tokens) and
    top-k selection counts, over the tokens of seqs."""
    model.eval()
    L = len(model.model.layers)
    E = router_weight(model, 0).shape[0]
    mass = torch.zeros(L, E, dtype=torch.float64)
    cnt = torch.zeros(L, E, dtype=torch.float64)
    ntok = 0
    store = {}
    hooks = moe_inputs_hooks(model, store)
    try:
        for i in range(0, len(seqs), bs):
            g = seqs[i:i + bs]
            batches = [torch.stack(g)] if len({len(s) for s in g}) == 1 else [s[None] for s in g]
            for x in batches:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    model(input_ids=x.to(dev))
                for l in range(L):
                    _, _, ti, tw = route(model, l, store[l], k)
                    mass[l].index_add_(0, ti.flatten().cpu(), tw.flatten().double().cpu())
                    cnt[l] += torch.bincount(ti.flatten(), minlength=E).double().cpu()
                ntok += x.numel()
    finally:
        for h in hooks:
            h.remove()
    model.train()
    return mass / max(ntok, 1), cnt, ntok


def js_divergence(p, q):
    m = 0.5 * (p + q)

    def kl(a, b):
        mask = a > 0
        return float((a[mask] * (a[mask] / b[mask]).log2()).sum())
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def specialisation(dists, token_counts):
    """dists: domain -> [L, E] routing-mass distributions. Returns per-layer figures."""
    doms = sorted(dists)
    L, E = next(iter(dists.values())).shape
    out = {"per_layer": [], "domains": doms}
    for l in range(L):
        per_dom = {}
        for d in doms:
            p = dists[d][l]
            top = torch.argsort(p, descending=True)
            ent = float(-(p[p > 0] * p[p > 0].log2()).sum())
            per_dom[d] = {"top4_mass": round(float(p[top[:4]].sum()), 4),
                          "top8_mass": round(float(p[top[:8]].sum()), 4),
                          "top4_experts": [int(e) for e in top[:4]],
                          "entropy_bits": round(ent, 3)}
        pairs = [js_divergence(dists[a][l], dists[b][l]) for i, a in enumerate(doms) for b in doms[i + 1:]]
        tot = sum(token_counts[d] for d in doms)
        pooled = sum(dists[d][l] * token_counts[d] / tot for d in doms)
        out["per_layer"].append({
            "layer": l,
            "domains": per_dom,
            "js_bits_mean": round(sum(pairs) / len(pairs), 4) if pairs else None,
            "js_bits_min": round(min(pairs), 4) if pairs else None,
            "js_bits_max": round(max(pairs), 4) if pairs else None,
            "pooled_top4_mass": round(float(pooled[torch.argsort(pooled, descending=True)[:4]].sum()), 4),
            "pooled_max_expert_mass": round(float(pooled.max()), 4),
            "pooled_min_expert_mass": round(float(pooled.min()), 4),
        })
    out["mean_top4_mass"] = round(sum(v["top4_mass"] for x in out["per_layer"] for v in x["domains"].values())
                                  / (L * len(doms)), 4)
    out["mean_js_bits"] = round(sum(x["js_bits_mean"] or 0 for x in out["per_layer"]) / L, 4)
    out["mean_top8_mass"] = round(sum(v["top8_mass"] for x in out["per_layer"] for v in x["domains"].values())
                                  / (L * len(doms)), 4)
    out["uniform_top4_mass"] = round(4 / E, 4)
    out["uniform_top8_mass"] = round(min(1.0, 8 / E), 4)
    return out


# -------------------------------------------------------------------------------------- save

PROJ = {1: "gate_proj", 2: "up_proj", 3: "down_proj"}


def probe_loader_layout(cfg):
    """Asks this transformers version how from_pretrained maps hub per-expert tensors
    (mlp.experts.{e}.{gate,up,down}_proj.weight) onto the model's own expert parameters: saves a
    float32 checkpoint whose every expert row holds the code proj*1e6 + expert*1000 + row, loads
    it, and decodes the fused parameters. Returns {param name suffix: (rows_axis, src)} with
    src[e][j] = (proj, expert, row) for row j of fused slice e ({} when the model keeps the
    per-expert layout, as transformers 4.x does)."""
    import tempfile
    from safetensors.torch import save_file
    from transformers import Qwen3MoeForCausalLM
    pc = make_config(64, 0, False)
    for attr in ("hidden_size", "num_hidden_layers", "num_experts", "moe_intermediate_size",
                 "num_attention_heads", "num_key_value_heads", "head_dim"):
        assert getattr(pc, attr) == getattr(cfg, attr), attr
    pc.output_router_logits = False
    sd = Qwen3MoeForCausalLM(pc).state_dict()
    fused = [k for k in sd if k.endswith("mlp.experts.gate_up_proj") or k.endswith("mlp.experts.down_proj")]
    if not fused:
        return {}
    E, I, H = cfg.num_experts, cfg.moe_intermediate_size, cfg.hidden_size
    hub = {}
    for k, v in sd.items():
        if k.endswith("mlp.experts.gate_up_proj") or k.endswith("mlp.experts.down_proj"):
            prefix = k[: k.rindex(".") + 1]
            for e in range(E):
                for code, rows in ((1, I), (2, I)) if k.endswith("gate_up_proj") else ((3, H),):
                    cols = H if code != 3 else I
                    val = code * 1_000_000 + e * 1000 + torch.arange(rows, dtype=torch.float64)
                    hub[f"{prefix}{e}.{PROJ[code]}.weight"] = val[:, None].expand(rows, cols).float().contiguous()
        else:
            hub[k] = v.float().contiguous()
    with tempfile.TemporaryDirectory() as tmp:
        save_file(hub, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        pc.save_pretrained(tmp)
        loaded, info = from_pretrained(tmp, torch.float32)
        assert not info["missing_keys"] and not info["unexpected_keys"], info
    lsd = loaded.state_dict()
    layout = {}
    for k in fused:
        t = lsd[k].double()
        suffix = k[k.index("mlp."):]
        # rows run along the axis across which the code changes; the other axis holds copies
        if torch.all(t == t[:, :, :1]):
            axis, codes = 1, t[:, :, 0]
        elif torch.all(t == t[:, :1, :]):
            axis, codes = 2, t[:, 0, :]
        else:
            raise RuntimeError(f"probe: cannot decode {k}")
        src = [[(int(c // 1_000_000), int(c % 1_000_000 // 1000), int(c % 1000)) for c in row.tolist()]
               for row in codes]
        layout.setdefault(suffix, (axis, src))
    return layout


def to_hub_layout(sd, cfg, layout):
    """Per-expert tensors as on the Hugging Face hub (mlp.experts.{e}.{gate,up,down}_proj.weight),
    written so that this transformers version's from_pretrained rebuilds exactly the model's
    fused expert parameters (see probe_loader_layout)."""
    out = {}
    E, I, H = cfg.num_experts, cfg.moe_intermediate_size, cfg.hidden_size
    shapes = {1: (I, H), 2: (I, H), 3: (H, I)}
    for k, v in sd.items():
        suffix = k[k.index("mlp."):] if "mlp." in k else None
        if suffix in layout:
            axis, src = layout[suffix]
            prefix = k[: k.rindex(".") + 1]
            for e, row_src in enumerate(src):
                for j, (code, ex, r) in enumerate(row_src):
                    name = f"{prefix}{ex}.{PROJ[code]}.weight"
                    if name not in out:
                        out[name] = torch.empty(shapes[code], dtype=v.dtype)
                    out[name][r] = v[e, j] if axis == 1 else v[e, :, j]
        else:
            out[k] = v.contiguous()

    def order(name):  # embed, layers in order (experts numerically), norm, lm_head
        parts = name.split(".")
        key = [0 if parts[1:2] == ["embed_tokens"] else 1 if parts[1:2] == ["layers"] else
               2 if name.startswith("model.") else 3]
        key += [int(p) if p.isdigit() else p for p in parts]
        return [(0, x) if isinstance(x, int) else (1, x) for x in key]
    return {k: out[k] for k in sorted(out, key=order)}


def save_checkpoint(model, cfg, tok, ck):
    from safetensors.torch import save_file
    from transformers import GenerationConfig
    os.makedirs(ck, exist_ok=True)
    sd = {k: v.detach().to(torch.bfloat16).cpu() for k, v in model.state_dict().items()}
    layout = probe_loader_layout(cfg)
    sd = to_hub_layout(sd, cfg, layout)
    I = cfg.moe_intermediate_size
    total = sum(v.numel() * v.element_size() for v in sd.values())
    limit = total // 2 + 1  # two shards
    shards, cur, size = [], {}, 0
    for k, v in sd.items():
        b = v.numel() * v.element_size()
        if cur and size + b > limit:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = v
        size += b
    shards.append(cur)
    weight_map = {}
    for i, s in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(s, os.path.join(ck, name), metadata={"format": "pt"})
        weight_map.update({k: name for k in s})
    with open(os.path.join(ck, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                  f, indent=2)
        f.write("\n")
    c = copy.deepcopy(cfg)
    c.output_router_logits = False
    c.architectures = ["Qwen3MoeForCausalLM"]
    for attr in ("dtype", "torch_dtype"):
        try:
            setattr(c, attr, torch.bfloat16)
        except Exception:
            pass
    c.save_pretrained(ck)
    # Hub Qwen3-MoE config.json files carry num_experts, rope_theta and torch_dtype at the top
    # level; transformers 5 writes num_local_experts, rope_parameters and dtype instead. Keep
    # both spellings (same values), so readers of either generation find their keys.
    cj_path = os.path.join(ck, "config.json")
    cj = json.load(open(cj_path))
    rp = cj.get("rope_parameters") or {}
    cj.setdefault("rope_theta", rp.get("rope_theta", 1000000.0))
    cj.setdefault("torch_dtype", "bfloat16")
    cj.setdefault("num_experts", cfg.num_experts)
    with open(cj_path, "w") as f:
        json.dump(dict(sorted(cj.items())), f, indent=2)
        f.write("\n")
    GenerationConfig.from_model_config(c).save_pretrained(ck)
    tok.save(os.path.join(ck, "tokenizer.json"))
    with open(os.path.join(ck, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": EOT, "pad_token": EOT,
                   "bos_token": None, "unk_token": None, "add_bos_token": False,
                   "add_prefix_space": False, "clean_up_tokenization_spaces": False,
                   "model_max_length": cfg.max_position_embeddings,
                   "added_tokens_decoder": {str(tok.token_to_id(EOT)): {
                       "content": EOT, "lstrip": False, "normalized": False, "rstrip": False,
                       "single_word": False, "special": True}}}, f, indent=2)
        f.write("\n")
    return {"shards": len(shards), "tensor_bytes": total, "num_tensors": len(sd),
            "fused_in_memory_layout": {k: {"rows_axis": a, "first_rows": src[0][:2] + src[0][I:I + 2]}
                                       for k, (a, src) in layout.items()},
            "files": {n: os.path.getsize(os.path.join(ck, n)) for n in sorted(os.listdir(ck))}}


def from_pretrained(path, dtype, **kw):
    from transformers import AutoModelForCausalLM
    import transformers
    key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    return AutoModelForCausalLM.from_pretrained(path, **{key: dtype}, output_loading_info=True, **kw)


# -------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(REPO, "build-corpus-text"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="e16",
                    help="e16: examples/model (default); e64: examples/model64")
    ap.add_argument("--train-seconds", type=float, default=None, help="default: the preset's")
    ap.add_argument("--max-steps", type=int, default=None, help="default: the preset's")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--vocab", type=int, default=None, help="default: the preset's")
    ap.add_argument("--aux-coef", type=float, default=None, help="default: the preset's")
    ap.add_argument("--mix-alpha", type=float, default=0.7,
                    help="domain sampling probability proportional to tokens**alpha")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    ARCH.clear()
    ARCH.update(PRESETS[args.preset])
    for a, key in (("train_seconds", "train_seconds"), ("max_steps", "max_steps"), ("vocab", "vocab"),
                   ("aux_coef", "aux_coef")):
        if getattr(args, a) is None:
            setattr(args, a, ARCH[key])
        ARCH[key] = getattr(args, a)
    if args.smoke:
        args.max_steps, args.batch = 30, 8

    import safetensors
    import tokenizers
    import transformers
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
                "python": sys.version.split()[0],
                "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0)}
    log("versions", json.dumps(versions))
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    dev = "cuda"
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    ck = os.path.join(args.out, "checkpoint")
    report = {"versions": versions, "args": vars(args), "preset": dict(ARCH)}

    # ---- corpus + tokenizer
    docs, domains = load_corpus(args.corpus, args.smoke)
    train_texts = [t for (s, d), v in sorted(docs.items()) if s == "train" for t in v]
    t0 = time.time()
    tok = train_tokenizer(train_texts, args.vocab)
    eot = tok.token_to_id(EOT)
    V = tok.get_vocab_size()
    log(f"tokenizer: vocab {V}, eot id {eot}, {time.time() - t0:.1f}s")
    streams, starts, lens = [], [], []
    stats = {}
    heldout = {}
    pos = 0
    for d in domains:
        ids = encode_docs(tok, docs.get(("train", d), []), eot)
        h = encode_docs(tok, docs.get(("heldout", d), []), eot)
        chars = sum(len(t) for t in docs.get(("train", d), []))
        stats[d] = {"train_tokens": len(ids), "train_chars": chars, "heldout_tokens": len(h),
                    "chars_per_token": round(chars / max(1, len(ids)), 3)}
        streams.append(torch.tensor(ids, dtype=torch.long))
        starts.append(pos)
        lens.append(len(ids))
        pos += len(ids)
        S = args.seq
        heldout[d] = [torch.tensor(h[i:i + S]) for i in range(0, len(h) - S + 1, S)] or \
                     ([torch.tensor(h)] if len(h) > 1 else [])
    stream = torch.cat(streams).to(dev)
    w = torch.tensor([l ** args.mix_alpha for l in lens], dtype=torch.float64)
    probs = (w / w.sum()).tolist()
    for d, p in zip(domains, probs):
        stats[d]["sample_prob"] = round(p, 4)
    report["corpus"] = stats
    log("corpus", json.dumps(stats))

    evals = [json.loads(l) for l in open(os.path.join(REPO, "examples/calibration/eval.jsonl"), encoding="utf-8")]
    eval_seqs = {}
    for e in evals:
        ids = tok.encode(e["text"], add_special_tokens=False).ids[:args.seq]
        eval_seqs.setdefault(e["domain"], []).append(torch.tensor(ids))

    # ---- model
    cfg = make_config(V, eot, args.smoke)
    model = transformers.Qwen3MoeForCausalLM(cfg).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params:,} parameters; attn {getattr(model.config, '_attn_implementation', '?')}; "
        f"state_dict keys e.g. {[k for k in model.state_dict() if 'layers.0.mlp' in k][:4]}")
    report["model"] = {"parameters": n_params, "config": json.loads(cfg.to_json_string())}

    def usage_report(tag):
        dists, counts = {}, {}
        for d in domains:
            if heldout[d]:
                dists[d], _, counts[d] = routing_usage(model, heldout[d], dev, cfg.num_experts_per_tok)
        return specialisation(dists, counts)

    report["specialisation_at_init_heldout"] = usage_report("init")

    def suite_balance():
        """Per-layer balance over the held-out split and over the 154 suite prompts
        (calibration.jsonl + eval.jsonl, first args.seq tokens of each)."""
        out = {}
        for name, sets in (("heldout", [heldout[d] for d in domains]), ("suite", [suite_seqs])):
            cnt = 0
            for seqs in sets:
                if seqs:
                    cnt = cnt + routing_usage(model, seqs, dev, cfg.num_experts_per_tok)[1]
            out[name] = balance(cnt)
            log("balance", name, "max share per layer", [x["max_share"] for x in out[name]["per_layer"]],
                "under 0.5%:", [len(x["under_0.5pct"]) for x in out[name]["per_layer"]])
        return out

    suite = [json.loads(l) for f in ("calibration.jsonl", "eval.jsonl")
             for l in open(os.path.join(REPO, "examples/calibration", f), encoding="utf-8")]
    suite_seqs = [torch.tensor(tok.encode(e["text"], add_special_tokens=False).ids[:args.seq]) for e in suite]
    report["balance_at_init"] = suite_balance()

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)
    dom_p = torch.tensor(probs)
    starts_t, lens_t = torch.tensor(starts), torch.tensor(lens)
    ar = torch.arange(args.seq, device=dev)

    def batch():
        d = torch.multinomial(dom_p, args.batch, replacement=True, generator=gen)
        off = (torch.rand(args.batch, generator=gen) * (lens_t[d] - args.seq - 1).clamp(min=1)).long()
        idx = (starts_t[d] + off).to(dev)
        return stream[idx[:, None] + ar[None, :]]

    if ARCH["experts_impl"] == "auto":
        impl, timings = pick_experts_impl(model, batch, steps=2 if args.smoke else 6)
        report["experts_implementation"] = {"training": impl, "probe": timings}
        log("experts implementation for training:", impl)
    router_in, train_hooks = {}, []
    if ARCH["balance"] == "switch":
        train_hooks = moe_inputs_hooks(model, router_in, detach=False)

    warmup = 100 if not args.smoke else 5
    total_steps = args.max_steps
    curve, held_curve = [], []
    model.train()
    t_train = time.time()
    acc = {"lm": 0.0, "aux": 0.0, "n": 0, "aux_layers": 0.0}
    step = 0
    t_measure = None
    coef = cfg.router_aux_loss_coef
    log_every = 25 if not args.smoke else 5
    eval_every = max(1, args.max_steps // 10)
    while step < total_steps:
        if step == 20:
            torch.cuda.synchronize()
            t_measure = time.time()
        if step == 60 and not args.smoke:
            torch.cuda.synchronize()
            per_step = (time.time() - t_measure) / 40
            budget = args.train_seconds - (time.time() - t_train)
            total_steps = min(args.max_steps, 60 + int(budget / (per_step * 1.08)))
            log(f"{per_step * 1000:.1f} ms/step ({args.batch * args.seq / per_step:,.0f} tok/s): "
                f"{total_steps} steps")
            eval_every = max(1, total_steps // 10)
        lr = args.lr * min(1.0, (step + 1) / warmup)
        if step >= warmup:
            prog = (step - warmup) / max(1, total_steps - warmup)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, prog))))
        for g in opt.param_groups:
            g["lr"] = lr
        x = batch()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(input_ids=x, labels=x)
        if ARCH["balance"] == "switch":
            aux_layers = torch.stack([switch_loss(model, l, router_in[l], cfg.num_experts_per_tok)
                                      for l in range(cfg.num_hidden_layers)])
            aux = aux_layers.sum()
            loss = out.loss + coef * aux
            router_in.clear()
            acc["aux_layers"] = acc["aux_layers"] + aux_layers.detach()
        else:
            loss = out.loss
            aux = out.aux_loss if getattr(out, "aux_loss", None) is not None else torch.zeros((), device=dev)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        acc["lm"] += (loss.detach() - coef * aux.detach()).float()
        acc["aux"] += aux.detach().float()
        acc["n"] += 1
        if step % log_every == 0 or step == total_steps:
            lm = float(acc["lm"]) / acc["n"]
            ax = float(acc["aux"]) / acc["n"]
            curve.append({"step": step, "tokens": step * args.batch * args.seq, "lm_loss": round(lm, 4),
                          "aux_loss": round(ax, 4), "lr": round(lr, 6), "grad_norm": round(float(gn), 3),
                          "seconds": round(time.time() - t_train, 1)})
            if ARCH["balance"] == "switch":
                curve[-1]["aux_per_layer"] = [round(float(v) / acc["n"], 4) for v in acc["aux_layers"]]
            acc = {"lm": 0.0, "aux": 0.0, "n": 0, "aux_layers": 0.0}
            if step % (log_every * 4) == 0 or step == total_steps:
                log(json.dumps(curve[-1]))
        if step % eval_every == 0 or step == total_steps:
            hl = {d: round(eval_loss(model, heldout[d], dev)[0], 4) for d in domains if heldout[d]}
            held_curve.append({"step": step, "heldout_loss": hl})
            log("heldout", step, json.dumps(hl))
    torch.cuda.synchronize()
    train_time = time.time() - t_train
    for h in train_hooks:
        h.remove()
    report["training"] = {
        "steps": step, "batch": args.batch, "seq": args.seq, "tokens": step * args.batch * args.seq,
        "seconds": round(train_time, 1), "optimizer": "AdamW(betas=(0.9,0.95), wd=0.1 on matrices)",
        "lr_peak": args.lr, "schedule": f"linear warmup {warmup} steps, cosine to 10%",
        "grad_clip": 1.0, "autocast": "bfloat16 (float32 master weights)",
        "router_aux_loss_coef": coef, "mix_alpha": args.mix_alpha, "seed": args.seed,
        "load_balancing": ("transformers router_aux_loss (output_router_logits)" if ARCH["balance"] == "hf" else
                           "train.py Switch loss per layer (E * sum_e f_e P_e from the hooked router input, "
                           "f_e without gradient), summed over layers, times router_aux_loss_coef; "
                           "aux_loss in loss_curve is that sum (balanced: one per layer)"),
        "loss_curve": curve, "heldout_curve": held_curve,
        "epochs_over_train_tokens": round(step * args.batch * args.seq / sum(lens), 2),
    }

    # ---- final evaluation (bf16 autocast, as trained)
    final = {}
    for d in domains:
        if heldout[d]:
            l, n = eval_loss(model, heldout[d], dev)
            final[d] = {"nll": round(l, 4), "ppl": round(math.exp(l), 2), "tokens": n}
    report["heldout_loss"] = final
    ev = {}
    for d, seqs in eval_seqs.items():
        l, n = eval_loss(model, seqs, dev)
        ev[d] = {"nll": round(l, 4), "ppl": round(math.exp(l), 2), "tokens": n, "prompts": len(seqs)}
    report["eval_jsonl_loss"] = ev
    log("final heldout", json.dumps(final))
    log("eval.jsonl", json.dumps(ev))
    report["specialisation_heldout"] = usage_report("final")
    dists, counts = {}, {}
    for d, seqs in eval_seqs.items():
        dists[d], _, counts[d] = routing_usage(model, seqs, dev, cfg.num_experts_per_tok)
    report["specialisation_eval_jsonl"] = specialisation(dists, counts)
    report["balance"] = suite_balance()
    for tag in ("specialisation_at_init_heldout", "specialisation_heldout", "specialisation_eval_jsonl"):
        s = report[tag]
        log(tag, "mean top4 mass", s["mean_top4_mass"], "top8", s["mean_top8_mass"], "mean JS bits", s["mean_js_bits"],
            "per-layer JS", [x["js_bits_mean"] for x in s["per_layer"]])

    # ---- save, verify, references
    report["wall_seconds_training_and_eval"] = round(time.time() - t_start, 1)
    if ARCH["experts_impl"]:
        set_experts_impl(model, "eager")  # float32 checks below
    try:
        finalize(model, cfg, tok, args.out, evals, versions, report)
    except BaseException as exc:  # keep what was saved (the checkpoint is written first) and say why
        import traceback
        traceback.print_exc()
        report["finalize_error"] = repr(exc)
        write_report(args.out, report)
        raise
    report["wall_seconds_total"] = round(time.time() - t_start, 1)
    write_report(args.out, report)
    log("done", report["wall_seconds_total"], "s")


def write_report(out, report):
    with open(os.path.join(out, "training_report.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")


def mlp_output_hooks(model, store):
    hs = []
    for i, layer in enumerate(model.model.layers):
        def hook(m, args, out, i=i):
            store[i] = (out[0] if isinstance(out, tuple) else out).detach()
        hs.append(layer.mlp.register_forward_hook(hook))
    return hs


def hub_semantics_check(ck, cfg, ins, outs, k):
    """Recomputes every MoE block from the per-expert tensors in the checkpoint files with the
    hub (transformers 4.x) semantics, y = sum_k w_k * down_e(silu(gate_e x) * up_e x), and
    returns the largest |difference| from the block output of the reloaded HF model."""
    from safetensors import safe_open
    idx = json.load(open(os.path.join(ck, "model.safetensors.index.json")))["weight_map"]

    def get(name):
        with safe_open(os.path.join(ck, idx[name]), "pt") as f:
            return f.get_tensor(name).float()
    worst = 0.0
    for l in range(cfg.num_hidden_layers):
        x = ins[l].reshape(-1, cfg.hidden_size).float()
        wr = get(f"model.layers.{l}.mlp.gate.weight")
        probs = (x @ wr.t()).softmax(-1)
        tw, ti = probs.topk(k, -1)
        tw = tw / tw.sum(-1, keepdim=True)
        y = torch.zeros_like(x)
        for e in range(cfg.num_experts):
            p = f"model.layers.{l}.mlp.experts.{e}."
            g, u, d = get(p + "gate_proj.weight"), get(p + "up_proj.weight"), get(p + "down_proj.weight")
            ye = (F.silu(x @ g.t()) * (x @ u.t())) @ d.t()
            w = (tw * (ti == e)).sum(-1, keepdim=True)
            y += w * ye
        worst = max(worst, float((y - outs[l].reshape(-1, cfg.hidden_size).float()).abs().max()))
    return worst


def finalize(model, cfg, tok, out_dir, evals, versions, report):
    """Saves the checkpoint, checks the reload, writes reference.safetensors / reference.json,
    and records it all in report (written to out_dir/training_report.json)."""
    torch.set_grad_enabled(False)
    dev = next(model.parameters()).device
    ck = os.path.join(out_dir, "checkpoint")
    model.eval()
    info = save_checkpoint(model, cfg, tok, ck)
    report["checkpoint"] = info
    log("checkpoint", json.dumps(info))
    write_report(out_dir, report)

    # ---- verify the reload: same parameters, same logits
    firsts = {}
    for e in evals:
        firsts.setdefault(e["domain"], e["text"])
    ref_x = torch.tensor([tok.encode(t, add_special_tokens=False).ids[:48] for t in firsts.values()]).to(dev)
    # Compare in float32: the trained model with its parameters rounded to bfloat16 (as saved)
    # against the checkpoint loaded as float32. (Casting a whole model with .to(bfloat16) would
    # also round the rotary inv_freq buffer, which from_pretrained keeps in float32.)
    mem = copy.deepcopy(model).eval()
    for p in mem.parameters():
        p.copy_(p.to(torch.bfloat16).float())
    mem = mem.float()
    reloaded, load_info = from_pretrained(ck, torch.float32)
    reloaded = reloaded.to(dev).eval()
    if ARCH["experts_impl"]:
        set_experts_impl(reloaded, "eager")
    msd, rsd = mem.state_dict(), reloaded.state_dict()
    param_mismatch = [k for k in msd if k not in rsd or not torch.equal(msd[k].cpu(), rsd[k].cpu())]
    with torch.no_grad():
        a = mem(input_ids=ref_x).logits.float()
        b = reloaded(input_ids=ref_x).logits.float()
    verify = {"loading_info": {k: sorted(map(str, v)) for k, v in load_info.items()},
              "state_dict_mismatches": param_mismatch[:10], "num_state_dict_mismatches": len(param_mismatch),
              "reloaded_class": type(reloaded).__name__,
              "max_abs_logit_diff_f32": float((a - b).abs().max())}
    log("reload", json.dumps(verify))
    if param_mismatch or verify["max_abs_logit_diff_f32"] > 1e-4:
        raise SystemExit("reloaded checkpoint differs from the trained model")
    try:
        from transformers import AutoTokenizer
        at = AutoTokenizer.from_pretrained(ck)
        sample = [e["text"] for e in evals[:10]]
        verify["auto_tokenizer_class"] = type(at).__name__
        verify["auto_tokenizer_matches"] = all(at.encode(t, add_special_tokens=False) ==
                                               tok.encode(t, add_special_tokens=False).ids for t in sample)
    except Exception as exc:  # report, don't fail
        verify["auto_tokenizer_error"] = repr(exc)
    report["verify"] = verify

    # ---- references: float32 on the CPU, eager attention, bf16 weights upcast
    torch.set_num_threads(8)
    ref_model, _ = from_pretrained(ck, torch.float32, attn_implementation="eager")
    ref_model.eval()
    if ARCH["experts_impl"]:
        set_experts_impl(ref_model, "eager")
    picked = [next(e for e in evals if e["domain"] == d) for d in REFERENCE_DOMAINS]
    ids = torch.tensor([tok.encode(e["text"], add_special_tokens=False).ids[:32] for e in picked])
    assert ids.shape == (3, 32), ids.shape
    store, store_out = {}, {}
    hooks = moe_inputs_hooks(ref_model, store) + mlp_output_hooks(ref_model, store_out)
    with torch.no_grad():
        out = ref_model(input_ids=ids, output_router_logits=True)
    for h in hooks:
        h.remove()
    semantics = hub_semantics_check(ck, cfg, store, store_out, cfg.num_experts_per_tok)
    log("hub-semantics MoE recomputation vs HF block output, max |diff|:", semantics)
    if semantics > 1e-3:
        raise SystemExit("the per-expert tensors do not reproduce the HF MoE blocks")
    logits = out.logits.float().contiguous()
    tensors = {"input_ids": ids.to(torch.int64).contiguous(), "logits": logits}
    k = cfg.num_experts_per_tok
    min_margin, hf_agree = 1.0, True
    for l in range(cfg.num_hidden_layers):
        rl, pr, ti, tw = route(ref_model, l, store[l], k)
        tensors[f"router_logits.{l}"] = rl.contiguous()
        tensors[f"topk_indices.{l}"] = ti.to(torch.int64).contiguous()
        tensors[f"topk_weights.{l}"] = tw.float().contiguous()
        srt = pr.sort(-1, descending=True).values
        min_margin = min(min_margin, float((srt[:, k - 1] - srt[:, k]).min().detach()))
        if getattr(out, "router_logits", None):
            hf_top = out.router_logits[l].float().reshape(-1, cfg.num_experts).topk(k, -1).indices
            hf_agree &= bool(torch.equal(hf_top.sort(-1).values, ti.sort(-1).values))
    # The same weights in bfloat16 compute, for tolerance guidance.
    bf, _ = from_pretrained(ck, torch.bfloat16, attn_implementation="eager")
    if ARCH["experts_impl"]:
        set_experts_impl(bf, "eager")
    with torch.no_grad():
        bl = bf.eval()(input_ids=ids).logits.float()
        logits = logits.detach()
    from safetensors.torch import save_file
    save_file(tensors, os.path.join(out_dir, "reference.safetensors"),
              metadata={"format": "pt", "generator": "examples/model/train.py"
                        + ("" if ARCH["model_dir"] == PRESETS["e16"]["model_dir"] else " --preset e64")})
    ref_json = {
        "format_version": 1,
        "model_dir": ARCH["model_dir"],
        "model_class": "Qwen3MoeForCausalLM",
        "prompt_ids": [e["id"] for e in picked],
        "prompt_domains": [e["domain"] for e in picked],
        "texts": [tok.decode(r.tolist()) for r in ids],
        "texts_note": "each text is the decoded first 32 tokens of the eval.jsonl prompt named in "
                      "prompt_ids (tokenized with checkpoint/tokenizer.json, add_special_tokens=False); "
                      "re-encoding a text gives its input_ids",
        "input_ids": ids.tolist(),
        "input_shape": list(ids.shape),
        "token_index": "t = b*S + s for the [B*S, ...] routing tensors",
        "compute": "float32 on the CPU: AutoModelForCausalLM.from_pretrained(checkpoint, float32, "
                   "attn_implementation='eager'), i.e. the bfloat16 weights upcast; no attention mask "
                   "(causal), positions 0..S-1",
        "tensors": {
            "input_ids": "I64 [B,S]",
            "logits": "F32 [B,S,V] final logits, float32 compute",
            "router_logits.{layer}": "F32 [B*S,E] raw router logits (float32)",
            "topk_indices.{layer}": "I64 [B*S,k] selected experts, descending probability",
            "topk_weights.{layer}": "F32 [B*S,k] softmax probabilities of the selected experts, "
                                    "renormalised to sum to 1 (norm_topk_prob)",
        },
        "hf_router_topk_agrees": hf_agree,
        "hub_semantics_moe_max_abs_diff": semantics,
        "min_topk_margin_prob": min_margin,
        "max_abs_logit_diff_bf16_compute_vs_f32": float((bl - logits).abs().max()),
        "suggested_tolerances": {"logits_max_abs_f32_runtime": 2e-3,
                                 "note": "a runtime that computes in float32 from the bf16 weights "
                                         "should match to ~1e-4; bf16 compute differs by "
                                         "max_abs_logit_diff_bf16_compute_vs_f32"},
        "versions": versions,
    }
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(ref_json, f, indent=1)
        f.write("\n")
    log("reference", json.dumps({k: v for k, v in ref_json.items() if k not in ("texts", "input_ids", "tensors")}))
    report["reference"] = {k: ref_json[k] for k in ("prompt_ids", "hf_router_topk_agrees",
                                                   "hub_semantics_moe_max_abs_diff", "min_topk_margin_prob",
                                                   "max_abs_logit_diff_bf16_compute_vs_f32")}
    write_report(out_dir, report)


if __name__ == "__main__":
    main()
