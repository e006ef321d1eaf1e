// moedist sign DIST --key KEY: detached Ed25519 signature over DIST/distribution.json.
#include <fmt/format.h>
#include <sys/stat.h>

#include "apps/command_registry.h"
#include "manifest/release_signing.h"

namespace moedist::cli {
namespace {

struct SignOptions {
  std::string dist;
  std::string key;
};

int RunSign(const SignOptions& o) {
  struct stat st;
  if (::stat(o.key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    fmt::print(stderr, "moedist sign: warning: {} is readable by group or others (mode {:o})\n",
               o.key, st.st_mode & 0777);
  }
  auto key = PrivateKey::Load(o.key);
  if (!key.ok()) return ReportError("sign", key.status());
  auto signed_release = SignReleaseLocked(o.dist, *key);
  if (!signed_release.ok()) return ReportError("sign", signed_release.status());
  fmt::print("signed {} with key {}\n", signed_release->signature_path, signed_release->key_id);
  return kExitOk;
}

Registrar registrar(
    {"sign", 70,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<SignOptions>();
       sub.add_option("dist", o->dist, "release directory (with distribution.json)")->required();
       sub.add_option("--key", o->key, "Ed25519 private key (moedist keygen)")->required();
       return [o] { return RunSign(*o); };
     },
     "sign a release's distribution.json (writes distribution.json.sig)"});

}  // namespace
}  // namespace moedist::cli
