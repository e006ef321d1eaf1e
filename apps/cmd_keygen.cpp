// moedist keygen --out KEY [--pub PUB] [--force]: a new Ed25519 signing key pair.
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "manifest/release_signing.h"

namespace moedist::cli {
namespace {

struct KeygenOptions {
  std::string out;
  std::string pub;
  bool force = false;
};

int RunKeygen(const KeygenOptions& o) {
  const std::string pub = o.pub.empty() ? o.out + ".pub" : o.pub;
  auto key = GenerateKeyFiles(o.out, pub, o.force);
  if (!key.ok()) return ReportError("keygen", key.status());
  fmt::print("private key {} (mode 0600)\npublic key  {}\nkey id      {}\n", o.out, pub,
             key->key_id());
  return kExitOk;
}

Registrar registrar(
    {"keygen", 60,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<KeygenOptions>();
       sub.add_option("--out", o->out, "private key file to write (PEM, 0600)")->required();
       sub.add_option("--pub", o->pub, "public key file (default: KEY.pub)");
       sub.add_flag("--force", o->force, "replace existing key files");
       return [o] { return RunKeygen(*o); };
     },
     "generate an Ed25519 key pair for signing releases"});

}  // namespace
}  // namespace moedist::cli
