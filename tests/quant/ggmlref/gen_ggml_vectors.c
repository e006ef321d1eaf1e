// Generates the byte-identity test vectors in tests/quant/data/ from real ggml code.
//
// Why: moedist's quantizers must produce exactly the bytes ggml's quantize_row_*_ref functions
// produce, so that a bundle quantized by moedist equals one quantized by llama.cpp. A
// reimplementation cannot be its own oracle, so this program dlopen()s a prebuilt
// libggml-base.so (shipped in the npm package @node-llama-cpp/linux-x64, see README.md) and
// records ggml's own outputs. CI has no network: the outputs are committed and the unit test
// (tests/quant/ggml_identity_test.cpp) only reads them.
//
// Build and run: tests/quant/ggmlref/run.sh (installs the package into /tmp/ggmlref).
//   cc -O1 -o gen gen_ggml_vectors.c -ldl -lm && ./gen /path/to/libggml-base.so OUT_DIR
//
// The inputs are made here from a fixed xorshift generator and written next to the outputs,
// so the test never needs this generator's arithmetic (or libm) to agree with its own.
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kCaseElems = 512, kMaxCases = 64 };

typedef void (*QuantizeFn)(const float* x, void* y, int64_t k);
typedef void (*DequantizeFn)(const void* x, float* y, int64_t k);
typedef size_t (*QuantizeWeightedFn)(const float* src, void* dst, int64_t nrow, int64_t n_per_row,
                                     const float* imatrix);
typedef uint16_t (*Fp32ToFp16Fn)(float);
typedef struct { uint16_t bits; } Bf16;  // ggml_bf16_t is a struct: returned in a register
typedef Bf16 (*Fp32ToBf16Fn)(float);
typedef const char* (*StrFn)(void);

static void* handle;
static void* Sym(const char* name) {
  void* p = dlsym(handle, name);
  if (!p) {
    fprintf(stderr, "symbol %s missing: %s\n", name, dlerror());
    exit(1);
  }
  return p;
}

// xorshift64*: fixed, portable, no libm.
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t NextU64(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}
static double Uniform(void) { return (double)(NextU64() >> 11) * (1.0 / 9007199254740992.0); }
static double Gauss(void) {  // Box-Muller; libm differences only change inputs, which are saved
  double u1 = Uniform(), u2 = Uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static float inputs[kMaxCases][kCaseElems];
static const char* names[kMaxCases];
static int n_cases = 0;

static float* NewCase(const char* name) {
  names[n_cases] = name;
  return inputs[n_cases++];
}

static void MakeCases(void) {
  float* x;
  x = NewCase("zeros");
  for (int i = 0; i < kCaseElems; i++) x[i] = 0.0f;
  x = NewCase("constant_one");
  for (int i = 0; i < kCaseElems; i++) x[i] = 1.0f;
  x = NewCase("constant_negative");
  for (int i = 0; i < kCaseElems; i++) x[i] = -0.37f;
  x = NewCase("gauss_sigma1");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)Gauss();
  x = NewCase("gauss_sigma0.02");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(0.02 * Gauss());
  x = NewCase("gauss_one_huge_outlier");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(0.02 * Gauss());
  x[77] = 1.0e4f;
  x[300] = -3.0e3f;
  x = NewCase("tiny_1e-30");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(1e-30 * Gauss());
  x = NewCase("subnormal_1e-40");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(1e-40 * Gauss());
  x = NewCase("negative_only");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(-fabs(Gauss()) - 0.01);
  x = NewCase("positive_only_uniform");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(0.5 + Uniform());
  x = NewCase("mixed_magnitudes_per_block");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(Gauss() * pow(10.0, (i / 32) % 10 - 6));
  x = NewCase("mixed_magnitudes_per_element");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(Gauss() * pow(10.0, (int)(Uniform() * 8) - 4));
  // Scale 1 exactly (block max 127 for Q8_0, -8 for Q4_0): the halves are rounding ties.
  x = NewCase("ties_q8_0");
  for (int i = 0; i < kCaseElems; i++) x[i] = (i % 32 == 0) ? 127.0f : (float)((int)(i % 61) - 30) + 0.5f;
  x = NewCase("ties_q4_0");
  for (int i = 0; i < kCaseElems; i++) x[i] = (i % 32 == 5) ? -8.0f : (float)((int)(i % 15) - 7) * 0.5f;
  x = NewCase("small_integers");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)((int)(NextU64() % 31) - 15);
  x = NewCase("half_integers");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)((int)(NextU64() % 64) - 32) * 0.5f;
  x = NewCase("large_1e6_f16_overflow");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(1e6 * Gauss());
  x = NewCase("sparse");
  for (int i = 0; i < kCaseElems; i++) x[i] = (NextU64() % 17 == 0) ? (float)Gauss() : 0.0f;
  x = NewCase("zero_subblocks");
  for (int i = 0; i < kCaseElems; i++) x[i] = ((i / 32) % 3 == 1) ? 0.0f : (float)Gauss();
  x = NewCase("zero_subblocks_16");
  for (int i = 0; i < kCaseElems; i++) x[i] = ((i / 16) % 2 == 1) ? 0.0f : (float)(0.1 * Gauss());
  x = NewCase("ramp");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(i - 256) / 256.0f;
  x = NewCase("laplace_heavy_tail");
  for (int i = 0; i < kCaseElems; i++) {
    double u = Uniform() - 0.5;
    x[i] = (float)(-0.05 * (u < 0 ? -1 : 1) * log(1 - 2 * fabs(u) + 1e-12));
  }
  x = NewCase("gauss_offset_positive_mean");
  for (int i = 0; i < kCaseElems; i++) x[i] = (float)(3.0 + 0.1 * Gauss());
  for (int s = 0; s < 8; s++) {
    x = NewCase("gauss_bulk");
    for (int i = 0; i < kCaseElems; i++) x[i] = (float)(0.01 * (s + 1) * Gauss());
  }
}

// Importance weights (llama.cpp imatrix: one per column) for each case, from their own xorshift
// stream so the inputs above stay what they were. Five patterns cycle over the cases: spread
// lognormal; lognormal with zero columns, a zero sub-block of 16 and one of 32; tiny (1e-30) with
// zeros; ones with an all-zero second super-block; uniform with 1e6 and 1e-38 columns.
static float weights[kMaxCases][kCaseElems];
static void MakeWeights(void) {
  uint64_t saved = rng_state;
  rng_state = 0xD1B54A32D192ED03ull;
  for (int c = 0; c < n_cases; c++) {
    float* w = weights[c];
    for (int i = 0; i < kCaseElems; i++) {
      switch (c % 5) {
        case 0: w[i] = (float)exp(2.0 * Gauss()); break;
        case 1:
          w[i] = (NextU64() % 5 == 0 || (i >= 16 && i < 32) || (i >= 64 && i < 96))
                     ? 0.0f
                     : (float)exp(Gauss());
          break;
        case 2: w[i] = (NextU64() % 7 == 0) ? 0.0f : (float)(1e-30 * exp(Gauss())); break;
        case 3: w[i] = i < 256 ? 1.0f : 0.0f; break;
        default:
          w[i] = i < 8 ? 1e6f : (i >= 300 && i < 316) ? 1e-38f : (float)Uniform();
          break;
      }
    }
  }
  rng_state = saved;
}

static void WriteFile(const char* dir, const char* name, const void* data, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

struct BlockType {
  const char* name;
  const char* quantize;
  const char* dequantize;
  int block_elems;
  int block_bytes;
};

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s libggml-base.so OUT_DIR\n", argv[0]);
    return 2;
  }
  handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  const char* out = argv[2];
  MakeCases();

  // Manifest: provenance first, then one line per case.
  char manifest[16384];
  int len = snprintf(manifest, sizeof manifest,
                     "# generated by tests/quant/ggmlref/gen_ggml_vectors.c\n"
                     "# oracle: libggml-base.so from npm @node-llama-cpp/linux-x64 (see README.md)\n"
                     "ggml_version %s\nggml_commit %s\ncase_elements %d\ncases %d\n",
                     ((StrFn)Sym("ggml_version"))(), ((StrFn)Sym("ggml_commit"))(), kCaseElems,
                     n_cases);
  for (int c = 0; c < n_cases; c++) len += snprintf(manifest + len, sizeof manifest - len, "case %d %s\n", c, names[c]);
  WriteFile(out, "ggml_manifest.txt", manifest, (size_t)len);
  WriteFile(out, "ggml_inputs.f32", inputs, sizeof(float) * kCaseElems * n_cases);

  const struct BlockType types[] = {
      {"q8_0", "quantize_row_q8_0_ref", "dequantize_row_q8_0", 32, 34},
      {"q4_0", "quantize_row_q4_0_ref", "dequantize_row_q4_0", 32, 18},
      {"q4_k", "quantize_row_q4_K_ref", "dequantize_row_q4_K", 256, 144},
      {"q6_k", "quantize_row_q6_K_ref", "dequantize_row_q6_K", 256, 210},
      {"q5_k", "quantize_row_q5_K_ref", "dequantize_row_q5_K", 256, 176},
      {"q3_k", "quantize_row_q3_K_ref", "dequantize_row_q3_K", 256, 110},
      {"q2_k", "quantize_row_q2_K_ref", "dequantize_row_q2_K", 256, 84},
  };
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    QuantizeFn q = (QuantizeFn)Sym(types[t].quantize);
    DequantizeFn dq = (DequantizeFn)Sym(types[t].dequantize);
    size_t row_bytes = (size_t)kCaseElems / types[t].block_elems * types[t].block_bytes;
    uint8_t* qbuf = calloc(n_cases, row_bytes);
    float* dbuf = calloc((size_t)n_cases * kCaseElems, sizeof(float));
    for (int c = 0; c < n_cases; c++) {
      q(inputs[c], qbuf + c * row_bytes, kCaseElems);
      dq(qbuf + c * row_bytes, dbuf + (size_t)c * kCaseElems, kCaseElems);
    }
    char name[256];
    snprintf(name, sizeof name, "ggml_%s.bin", types[t].name);
    WriteFile(out, name, qbuf, row_bytes * n_cases);
    snprintf(name, sizeof name, "ggml_%s_dequant.f32", types[t].name);
    WriteFile(out, name, dbuf, sizeof(float) * kCaseElems * n_cases);
    free(qbuf);
    free(dbuf);
  }

  // quantize_<type>(src, dst, 1, n, imatrix) of each case with its weights: the importance-
  // weighted quantizers (q8_0 ignores the weights; its file shows that it does).
  MakeWeights();
  WriteFile(out, "ggml_imatrix.f32", weights, sizeof(float) * kCaseElems * n_cases);
  const struct BlockType weighted[] = {
      {"q8_0", "quantize_q8_0", NULL, 32, 34},  {"q4_0", "quantize_q4_0", NULL, 32, 18},
      {"q2_k", "quantize_q2_K", NULL, 256, 84}, {"q3_k", "quantize_q3_K", NULL, 256, 110},
      {"q4_k", "quantize_q4_K", NULL, 256, 144}, {"q5_k", "quantize_q5_K", NULL, 256, 176},
      {"q6_k", "quantize_q6_K", NULL, 256, 210},
  };
  for (size_t t = 0; t < sizeof weighted / sizeof weighted[0]; t++) {
    QuantizeWeightedFn q = (QuantizeWeightedFn)Sym(weighted[t].quantize);
    size_t row_bytes = (size_t)kCaseElems / weighted[t].block_elems * weighted[t].block_bytes;
    uint8_t* qbuf = calloc(n_cases, row_bytes);
    for (int c = 0; c < n_cases; c++) {
      if (q(inputs[c], qbuf + c * row_bytes, 1, kCaseElems, weights[c]) != row_bytes) {
        fprintf(stderr, "%s returned an unexpected size\n", weighted[t].quantize);
        return 1;
      }
    }
    char name[256];
    snprintf(name, sizeof name, "ggml_%s_imatrix.bin", weighted[t].name);
    WriteFile(out, name, qbuf, row_bytes * n_cases);
    free(qbuf);
  }

  // f32 -> f16 and f32 -> bf16 as ggml rounds them: special values, values around the f16
  // overflow and subnormal thresholds, then random bit patterns (half of them in f16 range).
  enum { kConv = 8192 };
  static uint32_t conv_in[kConv];
  static uint16_t f16_out[kConv], bf16_out[kConv];
  const uint32_t specials[] = {0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000,
                               0xFF800000, 0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001,
                               0x47800000, 0x33800000, 0x33000000, 0x33000001, 0x387FC000,
                               0x38800000, 0x00000001, 0x007FFFFF, 0x7F7FFFFF, 0x3F808000,
                               0x3F818000, 0x3F800001, 0x3F807FFF, 0x3F80FFFF};
  int n = 0;
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) conv_in[n++] = specials[i];
  while (n < kConv) {
    uint32_t r = (uint32_t)NextU64();
    // Odd slots: biased exponent 100..145 spans f16 subnormals up to past the f16 maximum.
    if (n % 2) r = (r & 0x807FFFFFu) | ((uint32_t)(100 + NextU64() % 46) << 23);
    if (((r >> 23) & 0xFF) == 0xFF && (r & 0x7FFFFF)) r &= ~0x00400000u;  // keep NaNs out
    conv_in[n++] = r;
  }
  Fp32ToFp16Fn to_f16 = (Fp32ToFp16Fn)Sym("ggml_fp32_to_fp16");
  Fp32ToBf16Fn to_bf16 = (Fp32ToBf16Fn)Sym("ggml_fp32_to_bf16");
  for (int i = 0; i < kConv; i++) {
    float f;
    memcpy(&f, &conv_in[i], 4);
    f16_out[i] = to_f16(f);
    bf16_out[i] = to_bf16(f).bits;
  }
  WriteFile(out, "ggml_conv_in.u32", conv_in, sizeof conv_in);
  WriteFile(out, "ggml_conv_f16.u16", f16_out, sizeof f16_out);
  WriteFile(out, "ggml_conv_bf16.u16", bf16_out, sizeof bf16_out);

  // MXFP4: every E8M0 scale 0..254 with all 16 e2m1 codes, decoded by ggml. ggml's block is
  // {u8 e; u8 qs[16]} with the low nibbles holding elements 0..15 and the high nibbles 16..31.
  static float mx_out[255][32];
  for (int e = 0; e < 255; e++) {
    uint8_t block[17];
    block[0] = (uint8_t)e;
    for (int j = 0; j < 16; j++) block[1 + j] = (uint8_t)(j | ((15 - j) << 4));
    ((DequantizeFn)Sym("dequantize_row_mxfp4"))(block, mx_out[e], 32);
  }
  WriteFile(out, "ggml_mxfp4_dequant.f32", mx_out, sizeof mx_out);
  printf("wrote %d cases to %s\n", n_cases, out);
  return 0;
}
