// node check_gguf.mjs FILE.gguf EXPECTED.json
//
// Independent-parser check (reliability.md row 16): parses a GGUF written by moedist with
// @huggingface/gguf and compares what it finds with what moedist meant to write (the JSON that
// tests/formats/gguf_sample_writer.cpp writes next to each sample): version, data offset, every
// metadata key in order with its type and value, and every tensor's name, shape, type and offset.
// Scalars are compared in a canonical text: integers in decimal, floats as the hex of their bits
// (so -0.0, denormals and NaN compare exactly), bools as JSON booleans.
// Exit status: 0 when everything matches, 1 on a mismatch (each one printed), 2 on bad usage.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gguf, GGUFValueType } from "@huggingface/gguf";

const [file, expectedPath] = process.argv.slice(2);
if (!file || !expectedPath) {
  console.error("usage: node check_gguf.mjs FILE.gguf EXPECTED.json");
  process.exit(2);
}
const expected = JSON.parse(readFileSync(expectedPath, "utf8"));
const problems = [];
const fail = (what) => problems.push(what);

const TYPE_NAMES = Object.fromEntries(
  Object.entries(GGUFValueType).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k]),
);
const INT_TYPES = new Set(["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32"]);
const BIG_TYPES = new Set(["UINT64", "INT64"]);

function floatBits(value, type) {
  const view = new DataView(new ArrayBuffer(8));
  if (type === "FLOAT32") {
    view.setFloat32(0, value, true);
    return "0x" + view.getUint32(0, true).toString(16).padStart(8, "0");
  }
  view.setFloat64(0, value, true);
  return "0x" + view.getBigUint64(0, true).toString(16).padStart(16, "0");
}

// The parsed value in the expected JSON's canonical form, checking that its JavaScript type is
// the one @huggingface/gguf produces for `type` (so a wrong element type shows up even inside
// nested arrays, where the parser reports no types).
function canonical(value, type, where) {
  if (INT_TYPES.has(type)) {
    if (typeof value !== "number" || !Number.isInteger(value)) fail(`${where}: ${value} is not a ${type}`);
    return String(value);
  }
  if (BIG_TYPES.has(type)) {
    if (typeof value !== "bigint") fail(`${where}: ${value} is not a ${type} (bigint)`);
    return String(value);
  }
  if (type === "FLOAT32" || type === "FLOAT64") {
    if (typeof value !== "number") fail(`${where}: ${value} is not a ${type}`);
    return floatBits(value, type);
  }
  if (type === "BOOL") {
    if (typeof value !== "boolean") fail(`${where}: ${value} is not a BOOL`);
    return value;
  }
  if (type === "STRING") {
    if (typeof value !== "string") fail(`${where}: ${value} is not a STRING`);
    return value;
  }
  fail(`${where}: unexpected type ${type}`);
  return null;
}

function canonicalArray(value, expected, where) {
  if (!Array.isArray(value)) {
    fail(`${where}: expected an array, got ${typeof value}`);
    return null;
  }
  const elements = value.map((v, i) => {
    const inner = expected.elements?.[i];
    if (expected.element_type === "ARRAY") return canonicalArray(v, inner ?? {}, `${where}[${i}]`);
    return canonical(v, expected.element_type, `${where}[${i}]`);
  });
  return { type: "ARRAY", element_type: expected.element_type, elements };
}

// JSON text with object keys sorted, so key order (nlohmann sorts, JavaScript keeps insertion
// order) never matters; array order does.
function sorted(v) {
  if (Array.isArray(v)) return v.map(sorted);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
  }
  return v;
}
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

const parsed = await gguf(resolve(file), { allowLocalFile: true, typedMetadata: true });
const { metadata, typedMetadata, tensorInfos, tensorDataOffset } = parsed;

if (metadata.version !== expected.version) fail(`version ${metadata.version}, expected ${expected.version}`);
if (String(tensorDataOffset) !== expected.tensor_data_offset) {
  fail(`tensor data offset ${tensorDataOffset}, expected ${expected.tensor_data_offset}`);
}
if (metadata.kv_count !== BigInt(expected.metadata.length)) {
  fail(`kv_count ${metadata.kv_count}, expected ${expected.metadata.length}`);
}
if (metadata.tensor_count !== BigInt(expected.tensors.length)) {
  fail(`tensor_count ${metadata.tensor_count}, expected ${expected.tensors.length}`);
}

const PSEUDO_KEYS = new Set(["version", "tensor_count", "kv_count"]);
const keys = Object.keys(typedMetadata).filter((k) => !PSEUDO_KEYS.has(k));
const expectedKeys = expected.metadata.map((m) => m.key);
if (!same(keys, expectedKeys)) fail(`metadata keys ${JSON.stringify(keys)}, expected ${JSON.stringify(expectedKeys)}`);

for (const want of expected.metadata) {
  const got = typedMetadata[want.key];
  if (!got) continue;  // reported above
  const where = `metadata "${want.key}"`;
  const gotType = TYPE_NAMES[got.type];
  if (gotType !== want.type) {
    fail(`${where}: type ${gotType}, expected ${want.type}`);
    continue;
  }
  if (want.type === "ARRAY") {
    if (TYPE_NAMES[got.subType] !== want.element_type) {
      fail(`${where}: element type ${TYPE_NAMES[got.subType]}, expected ${want.element_type}`);
    }
    const { key, ...wantArray } = want;
    const gotArray = canonicalArray(got.value, want, where);
    if (!same(gotArray, wantArray)) fail(`${where}: ${JSON.stringify(gotArray)}, expected ${JSON.stringify(wantArray)}`);
  } else {
    const value = canonical(got.value, want.type, where);
    if (!same(value, want.value)) fail(`${where}: ${JSON.stringify(value)}, expected ${JSON.stringify(want.value)}`);
  }
}

if (tensorInfos.length !== expected.tensors.length) {
  fail(`${tensorInfos.length} tensors, expected ${expected.tensors.length}`);
}
expected.tensors.forEach((want, i) => {
  const got = tensorInfos[i];
  if (!got) return;
  const actual = {
    name: got.name,
    shape: got.shape.map(String),
    dtype: got.dtype,
    offset: String(got.offset),
  };
  if (!same(actual, want)) fail(`tensor ${i}: ${JSON.stringify(actual)}, expected ${JSON.stringify(want)}`);
});

if (problems.length > 0) {
  console.error(`${file}: ${problems.length} mismatch(es) with @huggingface/gguf:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`${file}: @huggingface/gguf agrees (${expected.metadata.length} keys, ${expected.tensors.length} tensors)`);
