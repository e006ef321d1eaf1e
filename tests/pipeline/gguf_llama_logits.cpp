// gguf_llama_logits LIBLLAMA.so FILE.gguf TOKEN... : loads FILE.gguf with stock llama.cpp's
// libllama (dlopen, no headers), evaluates TOKEN... in one batch and prints the logits of the
// last position, one per line. This is the "stock llama.cpp loads it" check for node GGUFs
// (tests/pipeline/run_llama_check.sh compares the logits with runtime-min's).
//
// Only a handful of C entry points are used. Parameter structs are passed by value; on x86-64
// SysV a struct larger than 16 bytes is returned through a caller buffer and passed on the
// stack, so an opaque buffer at least as large as the real struct is ABI-compatible: the callee
// fills / reads the prefix it knows. The defaults llama.cpp returns are passed back unchanged.
// The CPU backend is loaded from the library's directory (ggml_backend_load_all_from_path).
// Exit status: 0 ok, 1 llama.cpp refused the file or failed, 2 usage or a missing library.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Opaque {
  alignas(16) unsigned char bytes[1024];
};

using BackendInit = void (*)();
using BackendLoadAll = void (*)(const char*);
using ModelDefaults = Opaque (*)();
using ModelLoad = void* (*)(const char*, Opaque);
using ContextDefaults = Opaque (*)();
using ContextInit = void* (*)(void*, Opaque);
using BatchGetOne = Opaque (*)(int*, int);
using Decode = int (*)(void*, Opaque);
using LogitsIth = float* (*)(void*, int);

template <typename F>
F Sym(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (p == nullptr) {
    fprintf(stderr, "libllama has no %s\n", name);
    std::exit(2);
  }
  return reinterpret_cast<F>(p);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s LIBLLAMA.so FILE.gguf N_VOCAB TOKEN...\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (lib == nullptr) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  const int n_vocab = std::atoi(argv[3]);
  std::vector<int> tokens;
  for (int i = 4; i < argc; ++i) tokens.push_back(std::atoi(argv[i]));

  // CPU (and other) backends are separate libraries next to libllama (ggml's dynamic-backend
  // build); load them from there before anything else.
  std::string dir = argv[1];
  dir = dir.substr(0, dir.find_last_of('/') == std::string::npos ? 0 : dir.find_last_of('/'));
  Sym<BackendLoadAll>(lib, "ggml_backend_load_all_from_path")(dir.empty() ? "." : dir.c_str());
  Sym<BackendInit>(lib, "llama_backend_init")();
  void* model = Sym<ModelLoad>(lib, "llama_model_load_from_file")(
      argv[2], Sym<ModelDefaults>(lib, "llama_model_default_params")());
  if (model == nullptr) {
    fprintf(stderr, "llama.cpp refused %s\n", argv[2]);
    return 1;
  }
  void* ctx = Sym<ContextInit>(lib, "llama_init_from_model")(
      model, Sym<ContextDefaults>(lib, "llama_context_default_params")());
  if (ctx == nullptr) {
    fprintf(stderr, "llama.cpp could not create a context for %s\n", argv[2]);
    return 1;
  }
  Opaque batch =
      Sym<BatchGetOne>(lib, "llama_batch_get_one")(tokens.data(), static_cast<int>(tokens.size()));
  if (int rc = Sym<Decode>(lib, "llama_decode")(ctx, batch); rc != 0) {
    fprintf(stderr, "llama_decode failed (%d) on %s\n", rc, argv[2]);
    return 1;
  }
  const float* logits = Sym<LogitsIth>(lib, "llama_get_logits_ith")(ctx, -1);
  if (logits == nullptr) {
    fprintf(stderr, "no logits from %s\n", argv[2]);
    return 1;
  }
  for (int v = 0; v < n_vocab; ++v) printf("%.9g\n", logits[v]);
  return 0;
}
