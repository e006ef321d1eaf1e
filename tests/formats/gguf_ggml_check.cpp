// gguf_ggml_check LIBGGML_BASE FILE.gguf EXPECTED.txt
//
// Second independent-parser check: loads a GGUF written by moedist with ggml's own gguf.cpp —
// the parser stock llama.cpp uses — from a prebuilt libggml-base.so (dlopen; the npm package
// @node-llama-cpp/linux-x64 ships one, see tests/quant/ggmlref/run.sh), reads the whole data
// blob (no_alloc = false, so ggml also checks that every padded tensor is present), and prints
// what it found in the text form tests/formats/gguf_sample_writer.cpp writes as EXPECTED.txt.
// The two must be identical. With the argument --types it instead compares ggml's
// blck_size/type_size/name for every type id with formats/gguf_types.h.
// Exit status: 0 on agreement, 1 on a difference, 2 on bad usage or a missing symbol.
#include <dlfcn.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "formats/gguf_types.h"

namespace {

struct ggml_context;
struct ggml_tensor;
struct gguf_context;
struct gguf_init_params {
  bool no_alloc;
  ggml_context** ctx;
};

template <typename F>
F Sym(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (p == nullptr) {
    fprintf(stderr, "libggml-base lacks %s\n", name);
    exit(2);
  }
  return reinterpret_cast<F>(p);
}

uint64_t Fnv1a(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

const char* kTypeNames[] = {"UINT8", "INT8",  "UINT16", "INT16",  "UINT32", "INT32",  "FLOAT32",
                            "BOOL",  "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
const size_t kTypeSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

std::string Hex(uint64_t v, int digits) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%0*" PRIx64, digits, v);
  return buf;
}

struct Ggml {
  explicit Ggml(void* lib)
      : init(Sym<gguf_context* (*)(const char*, gguf_init_params)>(lib, "gguf_init_from_file")),
        version(Sym<uint32_t (*)(const gguf_context*)>(lib, "gguf_get_version")),
        alignment(Sym<size_t (*)(const gguf_context*)>(lib, "gguf_get_alignment")),
        data_offset(Sym<size_t (*)(const gguf_context*)>(lib, "gguf_get_data_offset")),
        n_kv(Sym<int64_t (*)(const gguf_context*)>(lib, "gguf_get_n_kv")),
        key(Sym<const char* (*)(const gguf_context*, int64_t)>(lib, "gguf_get_key")),
        kv_type(Sym<int (*)(const gguf_context*, int64_t)>(lib, "gguf_get_kv_type")),
        arr_type(Sym<int (*)(const gguf_context*, int64_t)>(lib, "gguf_get_arr_type")),
        arr_n(Sym<size_t (*)(const gguf_context*, int64_t)>(lib, "gguf_get_arr_n")),
        arr_data(Sym<const void* (*)(const gguf_context*, int64_t)>(lib, "gguf_get_arr_data")),
        arr_str(Sym<const char* (*)(const gguf_context*, int64_t, size_t)>(lib, "gguf_get_arr_str")),
        val_data(Sym<const void* (*)(const gguf_context*, int64_t)>(lib, "gguf_get_val_data")),
        val_str(Sym<const char* (*)(const gguf_context*, int64_t)>(lib, "gguf_get_val_str")),
        n_tensors(Sym<int64_t (*)(const gguf_context*)>(lib, "gguf_get_n_tensors")),
        tensor_name(Sym<const char* (*)(const gguf_context*, int64_t)>(lib, "gguf_get_tensor_name")),
        tensor_type(Sym<int (*)(const gguf_context*, int64_t)>(lib, "gguf_get_tensor_type")),
        tensor_offset(Sym<size_t (*)(const gguf_context*, int64_t)>(lib, "gguf_get_tensor_offset")),
        tensor_ne(Sym<const int64_t* (*)(const gguf_context*, int64_t)>(lib, "gguf_get_tensor_ne")),
        tensor_size(Sym<size_t (*)(const gguf_context*, int64_t)>(lib, "gguf_get_tensor_size")),
        get_tensor(Sym<ggml_tensor* (*)(ggml_context*, const char*)>(lib, "ggml_get_tensor")),
        get_data(Sym<void* (*)(const ggml_tensor*)>(lib, "ggml_get_data")),
        free_ctx(Sym<void (*)(ggml_context*)>(lib, "ggml_free")),
        free_gguf(Sym<void (*)(gguf_context*)>(lib, "gguf_free")) {}
  gguf_context* (*init)(const char*, gguf_init_params);
  uint32_t (*version)(const gguf_context*);
  size_t (*alignment)(const gguf_context*);
  size_t (*data_offset)(const gguf_context*);
  int64_t (*n_kv)(const gguf_context*);
  const char* (*key)(const gguf_context*, int64_t);
  int (*kv_type)(const gguf_context*, int64_t);
  int (*arr_type)(const gguf_context*, int64_t);
  size_t (*arr_n)(const gguf_context*, int64_t);
  const void* (*arr_data)(const gguf_context*, int64_t);
  const char* (*arr_str)(const gguf_context*, int64_t, size_t);
  const void* (*val_data)(const gguf_context*, int64_t);
  const char* (*val_str)(const gguf_context*, int64_t);
  int64_t (*n_tensors)(const gguf_context*);
  const char* (*tensor_name)(const gguf_context*, int64_t);
  int (*tensor_type)(const gguf_context*, int64_t);
  size_t (*tensor_offset)(const gguf_context*, int64_t);
  const int64_t* (*tensor_ne)(const gguf_context*, int64_t);
  size_t (*tensor_size)(const gguf_context*, int64_t);
  ggml_tensor* (*get_tensor)(ggml_context*, const char*);
  void* (*get_data)(const ggml_tensor*);
  void (*free_ctx)(ggml_context*);
  void (*free_gguf)(gguf_context*);
};

std::string ScalarText(const char* type, const void* p) {
  std::string t = type;
  if (t == "UINT8") return std::to_string(*static_cast<const uint8_t*>(p));
  if (t == "INT8") return std::to_string(*static_cast<const int8_t*>(p));
  if (t == "UINT16") return std::to_string(*static_cast<const uint16_t*>(p));
  if (t == "INT16") return std::to_string(*static_cast<const int16_t*>(p));
  if (t == "UINT32") return std::to_string(*static_cast<const uint32_t*>(p));
  if (t == "INT32") return std::to_string(*static_cast<const int32_t*>(p));
  if (t == "UINT64") return std::to_string(*static_cast<const uint64_t*>(p));
  if (t == "INT64") return std::to_string(*static_cast<const int64_t*>(p));
  if (t == "BOOL") return *static_cast<const uint8_t*>(p) != 0 ? "true" : "false";
  uint64_t bits = 0;
  memcpy(&bits, p, t == "FLOAT32" ? 4 : 8);
  return Hex(bits, t == "FLOAT32" ? 8 : 16);
}

std::string KvLine(const Ggml& g, const gguf_context* ctx, int64_t i) {
  const int type = g.kv_type(ctx, i);
  std::string line = std::string("kv ") + g.key(ctx, i) + " " + kTypeNames[type];
  if (type == 8) {
    const char* s = g.val_str(ctx, i);
    char buf[64];
    snprintf(buf, sizeof buf, " %zu %016" PRIx64, strlen(s), Fnv1a(s, strlen(s)));
    return line + buf;
  }
  if (type != 9) return line + " " + ScalarText(kTypeNames[type], g.val_data(ctx, i));
  const int elem = g.arr_type(ctx, i);
  const size_t n = g.arr_n(ctx, i);
  uint64_t h = 0xcbf29ce484222325ull;
  if (elem == 8) {
    for (size_t k = 0; k < n; ++k) {
      const char* s = g.arr_str(ctx, i, k);
      h = Fnv1a(s, strlen(s), h);
    }
  } else if (n > 0) {
    h = Fnv1a(g.arr_data(ctx, i), n * kTypeSizes[elem], h);
  }
  char buf[96];
  snprintf(buf, sizeof buf, " %s %zu %016" PRIx64, kTypeNames[elem], n, h);
  return line + buf;
}

std::string Dump(const Ggml& g, const char* path) {
  ggml_context* data = nullptr;
  gguf_context* ctx = g.init(path, {/*no_alloc=*/false, &data});
  if (ctx == nullptr) return "ggml_accepts 0\n";
  std::ostringstream out;
  out << "ggml_accepts 1\nversion " << g.version(ctx) << "\nalignment " << g.alignment(ctx)
      << "\ndata_offset ";
  // ggml seeks to the aligned data section only when there are tensors.
  if (g.n_tensors(ctx) == 0) {
    out << "none";
  } else {
    out << g.data_offset(ctx);
  }
  out << "\nn_kv " << g.n_kv(ctx) << "\n";
  for (int64_t i = 0; i < g.n_kv(ctx); ++i) out << KvLine(g, ctx, i) << "\n";
  out << "n_tensors " << g.n_tensors(ctx) << "\n";
  for (int64_t i = 0; i < g.n_tensors(ctx); ++i) {
    const char* name = g.tensor_name(ctx, i);
    const int64_t* ne = g.tensor_ne(ctx, i);
    const size_t nbytes = g.tensor_size(ctx, i);
    ggml_tensor* t = g.get_tensor(data, name);
    const uint64_t h = t != nullptr && nbytes > 0 ? Fnv1a(g.get_data(t), nbytes) : Fnv1a("", 0);
    char buf[512];
    snprintf(buf, sizeof buf, "tensor %s %d %zu %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
             " %zu %016" PRIx64 "\n",
             name, g.tensor_type(ctx, i), g.tensor_offset(ctx, i), ne[0], ne[1], ne[2], ne[3],
             nbytes, h);
    out << buf;
  }
  g.free_ctx(data);
  g.free_gguf(ctx);
  return out.str();
}

// ggml's type traits against formats/gguf_types.h, for every id up to the first unnamed one.
int CheckTypes(void* lib) {
  auto blck = Sym<int64_t (*)(int)>(lib, "ggml_blck_size");
  auto size = Sym<size_t (*)(int)>(lib, "ggml_type_size");
  int differences = 0, known = 0;
  for (uint32_t id = 0; id < 40; ++id) {
    const moedist::GgmlTypeInfo* ours = moedist::FindGgmlType(id);
    const int64_t b = blck(static_cast<int>(id));
    if (ours == nullptr) {
      if (b != 0) ++differences, printf("id %u: ggml has block %" PRId64 ", moedist none\n", id, b);
      continue;
    }
    ++known;
    if (b != ours->block_elements || size(static_cast<int>(id)) != ours->block_bytes) {
      ++differences;
      printf("id %u %s: ggml %" PRId64 "/%zu, moedist %u/%u\n", id, std::string(ours->name).c_str(),
             b, size(static_cast<int>(id)), ours->block_elements, ours->block_bytes);
    }
  }
  printf("%d type ids agree with ggml, %d differ\n", known - differences, differences);
  return differences == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LIBGGML_BASE FILE.gguf EXPECTED.txt | LIBGGML_BASE --types\n",
            argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
    return 2;
  }
  if (std::string(argv[2]) == "--types") return CheckTypes(lib);
  if (argc != 4) return 2;
  std::ifstream in(argv[3], std::ios::binary);
  std::string expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string actual = Dump(Ggml(lib), argv[2]);
  const bool refused = expected.rfind("ggml_accepts 0\n", 0) == 0;
  if (refused ? actual == "ggml_accepts 0\n" : actual == expected) {
    printf("%s: ggml %s, as expected\n", argv[2], refused ? "refuses it" : "agrees");
    return 0;
  }
  printf("%s: ggml disagrees\n--- expected\n%s--- ggml\n%s", argv[2], expected.c_str(),
         actual.c_str());
  return 1;
}
