// imatrix_llama_check LIBLLAMA_COMMON.so OUT_DIR: writes an importance matrix with
// formats/imatrix_gguf.h and has llama.cpp's own loader read it: common_imatrix_load() from a
// prebuilt libllama-common.so (the function llama-quantize --imatrix calls), through dlopen.
// Checks that it accepts the file, finds every entry under its name with the in_sum2 values,
// and reads the datasets, chunk count and chunk size.
//
// No llama.cpp headers: common_imatrix is mirrored by its stable prefix (the entries map first,
// each entry starting with its `sums` vector, then the datasets, chunk_count, chunk_size, as in
// common/imatrix-loader.h since the loader moved there). The object lives in a zeroed buffer far
// larger than the real struct and is never destroyed (its entries' real type is larger than the
// mirror's), so the process leaks it on purpose. Exit: 0 ok, 1 mismatch, 2 usage or no library.
#include <dlfcn.h>

#include <cstdio>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "formats/imatrix_gguf.h"

namespace {

struct EntryPrefix {
  std::vector<float> sums;
};
struct ImatrixPrefix {
  std::map<std::string, EntryPrefix> entries;
  std::vector<std::string> datasets;
  int32_t chunk_count = 0;
  int32_t chunk_size = 0;
};

using Load = bool (*)(const std::string&, void*);

alignas(64) unsigned char storage[1 << 16];

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s LIBLLAMA_COMMON.so OUT_DIR\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (lib == nullptr) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  auto load = reinterpret_cast<Load>(dlsym(lib,
                                           "_Z19common_imatrix_loadRKNSt7__cxx1112basic_"
                                           "stringIcSt11char_traitsIcESaIcEEER14common_imatrix"));
  if (load == nullptr) {
    fprintf(stderr, "%s has no common_imatrix_load\n", argv[1]);
    return 2;
  }
  moedist::Imatrix m;
  m.datasets = {"calibration.jsonl"};
  m.chunk_count = 5;
  m.chunk_size = 256;
  m.entries["blk.0.attn_q.weight"] = {4, {1.5f, 0.25f, 3.0f, 0.0f}, {7.0f}};
  m.entries["blk.0.ffn_down_exps.weight"] = {
      2, {0.5f, 1.0f, 0.0f, 0.0f, 2.0f, 4.0f}, {3.0f, 0.0f, 4.0f}};
  const std::string path = std::string(argv[2]) + "/imatrix-llama.gguf";
  if (moedist::Status st = moedist::WriteImatrixFile(path, m); !st.ok()) {
    fprintf(stderr, "%s\n", st.ToString().c_str());
    return 2;
  }
  auto* got = new (storage) ImatrixPrefix();
  if (!load(path, got)) {
    fprintf(stderr, "llama.cpp's common_imatrix_load refused %s\n", path.c_str());
    return 1;
  }
  int bad = 0;
  auto fail = [&bad](const std::string& what) {
    fprintf(stderr, "mismatch: %s\n", what.c_str());
    ++bad;
  };
  if (got->entries.size() != m.entries.size()) fail("entry count");
  for (const auto& [name, e] : m.entries) {
    auto it = got->entries.find(name);
    if (it == got->entries.end()) {
      fail(name + " not found");
    } else if (it->second.sums != e.in_sum2) {
      fail(name + " in_sum2 values");
    }
  }
  if (got->datasets != m.datasets) fail("datasets");
  if (got->chunk_count != 5 || got->chunk_size != 256) fail("chunk_count / chunk_size");
  if (bad == 0)
    printf("llama.cpp read %s: %zu entries, as written\n", path.c_str(), m.entries.size());
  return bad == 0 ? 0 : 1;
}
