// node check_llama_layout.mjs FILE.gguf
//
// Independent check of a node GGUF against llama.cpp's loader conventions (not against moedist's
// own plan): parses the file with @huggingface/gguf, reads the architecture's hyperparameters
// from its metadata, and checks that exactly the tensors llama.cpp's llama-model.cpp creates for
// that architecture are present, each with the ggml dims it asks for (ne[0] first), and that the
// vocabulary has one token per embedding row. Facts from llama.cpp's src/llama-model.cpp.
// Exit status: 0 when the layout matches, 1 on a mismatch (each one printed), 2 on bad usage.
import { resolve } from "node:path";
import { gguf } from "@huggingface/gguf";

const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: node check_llama_layout.mjs FILE.gguf");
  process.exit(2);
}
const { metadata: md, tensorInfos } = await gguf(resolve(file), { allowLocalFile: true });
const problems = [];
const arch = md["general.architecture"];
const key = (k, fallback) => {
  const v = md[`${arch}.${k}`];
  if (v === undefined) {
    if (fallback === undefined) problems.push(`missing ${arch}.${k}`);
    return fallback ?? 0;
  }
  return Number(v);
};

const nLayer = key("block_count");
const nEmbd = key("embedding_length");
const nHead = key("attention.head_count");
const nHeadKv = key("attention.head_count_kv");
const hdK = key("attention.key_length", nEmbd / nHead);
const hdV = key("attention.value_length", nEmbd / nHead);
const nExpert = key("expert_count");
const nFf = key("feed_forward_length");
const nFfExp = arch === "llama" || arch === "olmoe" ? nFf : key("expert_feed_forward_length");
const tokens = md["tokenizer.ggml.tokens"];
const nVocab = tokens ? tokens.length : key("vocab_size");

const want = new Map();
const need = (name, ne) => want.set(name, ne);
need("token_embd.weight", [nEmbd, nVocab]);
need("output_norm.weight", [nEmbd]);
if (tensorInfos.some((t) => t.name === "output.weight")) need("output.weight", [nEmbd, nVocab]);

const denseLead = arch === "deepseek2" ? key("leading_dense_block_count") : 0;
const moeStep = arch === "llama4" ? key("interleave_moe_layer_step") : 1;
for (let i = 0; i < nLayer; i++) {
  const b = `blk.${i}.`;
  need(b + "attn_norm.weight", [nEmbd]);
  need(b + "ffn_norm.weight", [nEmbd]);
  if (arch === "deepseek2") {
    const qLora = key("attention.q_lora_rank");
    const kvLora = key("attention.kv_lora_rank");
    const nRot = key("rope.dimension_count");
    if (qLora > 0) {
      need(b + "attn_q_a.weight", [nEmbd, qLora]);
      need(b + "attn_q_a_norm.weight", [qLora]);
      need(b + "attn_q_b.weight", [qLora, nHead * hdK]);
    } else {
      need(b + "attn_q.weight", [nEmbd, nHead * hdK]);
    }
    need(b + "attn_kv_a_mqa.weight", [nEmbd, kvLora + nRot]);
    need(b + "attn_kv_a_norm.weight", [kvLora]);
    need(b + "attn_kv_b.weight", [kvLora, nHead * (hdK - nRot + hdV)]);
  } else {
    need(b + "attn_q.weight", [nEmbd, nHead * hdK]);
    need(b + "attn_k.weight", [nEmbd, nHeadKv * hdK]);
    need(b + "attn_v.weight", [nEmbd, nHeadKv * hdV]);
    if (arch === "qwen2moe") {
      need(b + "attn_q.bias", [nHead * hdK]);
      need(b + "attn_k.bias", [nHeadKv * hdK]);
      need(b + "attn_v.bias", [nHeadKv * hdV]);
    }
    if (arch === "qwen3moe") {
      need(b + "attn_q_norm.weight", [hdK]);
      need(b + "attn_k_norm.weight", [hdK]);
    }
    if (arch === "olmoe") {
      need(b + "attn_q_norm.weight", [nEmbd]);
      need(b + "attn_k_norm.weight", [nEmbd]);
    }
  }
  need(b + "attn_output.weight", [nHead * hdV, nEmbd]);
  const moe = arch === "deepseek2" ? i >= denseLead : arch === "llama4" ? (i + 1) % moeStep === 0 : true;
  if (!moe) {
    need(b + "ffn_gate.weight", [nEmbd, nFf]);
    need(b + "ffn_up.weight", [nEmbd, nFf]);
    need(b + "ffn_down.weight", [nFf, nEmbd]);
    continue;
  }
  need(b + "ffn_gate_inp.weight", [nEmbd, nExpert]);
  need(b + "ffn_gate_exps.weight", [nEmbd, nFfExp, nExpert]);
  need(b + "ffn_up_exps.weight", [nEmbd, nFfExp, nExpert]);
  need(b + "ffn_down_exps.weight", [nFfExp, nEmbd, nExpert]);
  let nFfShexp = 0;
  if (arch === "qwen2moe") {
    nFfShexp = key("expert_shared_feed_forward_length");
    need(b + "ffn_gate_inp_shexp.weight", [nEmbd]);
  } else if (arch === "deepseek2") {
    nFfShexp = nFfExp * key("expert_shared_count");
    if (key("expert_gating_func") === 2) need(b + "exp_probs_b.bias", [nExpert]);
  } else if (arch === "llama4") {
    nFfShexp = nFfExp;
  }
  if (nFfShexp > 0) {
    need(b + "ffn_gate_shexp.weight", [nEmbd, nFfShexp]);
    need(b + "ffn_up_shexp.weight", [nEmbd, nFfShexp]);
    need(b + "ffn_down_shexp.weight", [nFfShexp, nEmbd]);
  }
}

// ggml compares dims with trailing 1s implied ({n} equals {n, 1}).
const norm = (ne) => {
  const out = ne.map(Number);
  while (out.length > 1 && out[out.length - 1] === 1) out.pop();
  return out.join(",");
};
const seen = new Set();
for (const t of tensorInfos) {
  seen.add(t.name);
  const ne = want.get(t.name);
  if (!ne) {
    problems.push(`tensor ${t.name} is not one llama.cpp's ${arch} loader creates`);
  } else if (norm(t.shape) !== norm(ne)) {
    problems.push(`tensor ${t.name}: ne [${t.shape}], llama.cpp expects [${ne}]`);
  }
}
for (const name of want.keys()) if (!seen.has(name)) problems.push(`missing tensor ${name}`);

if (problems.length > 0) {
  console.error(`${file}: ${problems.length} difference(s) from llama.cpp's ${arch} layout:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`${file}: ${tensorInfos.length} tensors match llama.cpp's ${arch} layout (${nLayer} layers, ${nExpert} experts)`);
